"""Full-text search."""
from __future__ import annotations

import io
from typing import Any, Iterator

from flask import Response, stream_with_context

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import api, current_runtime
from eakte.presenters import content_disposition
from eakte.api.schemas import ExportIn, SearchOut, SearchQuery
from eakte.services import exports, search
from search import Filters
from workflows.spreadsheet import SafeCsvWriter


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
    filters = _filters(query)
    rt, actor = current_runtime(), current_actor()
    search.search(rt, actor, query["q"], filters, limit=1)  # a malformed query fails here, before streaming

    def rows() -> Iterator[str]:
        out = io.StringIO()
        writer = SafeCsvWriter(out, delimiter=";")  # titles are user input: no cell may run as a formula
        writer.writerow(["Aktenzeichen", "Betreff der Akte", "Aktentyp", "Dokument", "Art", "Dokument-ID",
                         "Relevanz"])
        offset = 0
        while True:
            hits, page = search.search(rt, actor, query["q"], filters, sort=query["sort"], offset=offset, limit=200)
            for h in hits:
                writer.writerow([h.reference, h.case_title, h.case_type, h.title, h.kind, h.document_id,
                                 f"{h.score:.3f}"])
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            offset += 200
            if offset >= page.total:
                return

    return Response(stream_with_context(rows()), mimetype="text/csv",
                    headers={"Content-Disposition": content_disposition("suche.csv")})


@api.post("/exports")
@api.auth_required(token_auth)
@api.input(ExportIn, arg_name="body")
@api.doc(summary="Export cases (by ids or a search) as a BagIt ZIP, streamed (auditors and admins)",
         responses={200: {"description": "ZIP in BagIt layout", "content": {"application/zip": {}}}})
def create_export(body: dict[str, Any]) -> Response:
    rt, actor = current_runtime(), current_actor()
    selection = exports.ExportSelection(tuple(body["case_ids"]), body["q"], _filters(body))
    name, stream = exports.stream_bag(rt, actor, exports.select_cases(rt, actor, selection))
    return Response(stream_with_context(stream), mimetype="application/zip",
                    headers={"Content-Disposition": content_disposition(name)})


def _filters(query: dict[str, Any]) -> Filters:
    return Filters(case_type=query.get("case_type"), unit=query.get("unit"), status=query.get("status"),
                   kind=query.get("kind"), date_from=query.get("date_from"), date_to=query.get("date_to"))
