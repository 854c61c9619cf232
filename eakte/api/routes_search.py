"""Full-text search."""
from __future__ import annotations

from typing import Any

from flask import Response, stream_with_context

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import api, current_runtime
from eakte.presenters import content_disposition, download_headers
from eakte.api.schemas import ExportIn, SearchOut, SearchQuery
from eakte.services import exports, search
from search import Filters


@api.get("/search")
@api.auth_required(token_auth)
@api.input(SearchQuery, location="query", arg_name="query")
@api.output(SearchOut)
@api.doc(summary="Search documents and cases the caller may see, with facets and snippets")
def search_documents(query: dict[str, Any]) -> dict[str, Any]:
    filters = _filters(query)
    hits, page = search.search(current_runtime(), current_actor(), query["q"], filters, sort=query["sort"],
                               offset=query["offset"], limit=query["limit"])
    return {"items": hits, "total": page.total, "facets": page.facets, "offset": query["offset"],
            "limit": query["limit"]}


@api.get("/search.csv")
@api.auth_required(token_auth)
@api.input(SearchQuery, location="query", arg_name="query")
@api.doc(summary="All search results as CSV (same parameters as /search)",
         responses={200: {"description": "CSV", "content": {"text/csv": {}}}})
def search_csv(query: dict[str, Any]) -> Response:
    rows = search.results_csv(current_runtime(), current_actor(), query["q"], _filters(query), sort=query["sort"])
    return Response(stream_with_context(rows), mimetype="text/csv",
                    headers={"Content-Disposition": content_disposition("suche.csv")})


@api.post("/exports")
@api.auth_required(token_auth)
@api.input(ExportIn, arg_name="body")
@api.doc(summary="Export cases (by ids or a search) as a BagIt ZIP, streamed (auditors and admins)",
         responses={200: {"description": "ZIP in BagIt layout, with its exact Content-Length",
                         "content": {"application/zip": {}}}})
def create_export(body: dict[str, Any]) -> Response:
    rt, actor = current_runtime(), current_actor()
    selection = exports.ExportSelection(tuple(body["case_ids"]), body["q"], _filters(body))
    bag = exports.stream_bag(rt, actor, exports.select_cases(rt, actor, selection))
    return Response(stream_with_context(bag.chunks), mimetype="application/zip",
                    headers=download_headers(bag.filename, bag.size))


def _filters(query: dict[str, Any]) -> Filters:
    return Filters(case_type=query.get("case_type"), unit=query.get("unit"), status=query.get("status"),
                   kind=query.get("kind"), date_from=query.get("date_from"), date_to=query.get("date_to"))
