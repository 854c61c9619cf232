"""Search: the query page with facets, snippets, sorting and paging; the hits as CSV; the auditors' export of the
hits' cases (BagIt ZIP) and the receipts of their exports. Every result comes from eakte.services.search and
eakte.services.exports, the same functions the API calls."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from flask import Blueprint, Response, jsonify, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from eakte.errors import EakteError, Invalid
from eakte.presenters import content_disposition, download_headers
from eakte.services import exports, search
from eakte.services.indexing import NOTE_KIND
from eakte.web.auth import current_actor, login_required
from eakte.web.i18n import select_locale
from eakte.web.labels import status_label
from eakte.web.paging import page_of, page_number
from eakte.web.runtime import runtime
from eakte.web.snippets import snippet_html
from eakte.web.views.schema import current_label
from search import Filters

bp = Blueprint("search", __name__)

# Query-string keys of the filters (the same names as the API's parameters) and the facet each one narrows.
_FILTER_KEYS = ("case_type", "unit", "status", "kind", "year", "from", "to")
_FACET_ORDER = ("case_type", "unit", "year", "kind", "status")


@dataclass(frozen=True)
class SearchForm:
    q: str
    given: dict[str, str]  # filter key → value as typed (for the form and the links)
    filters: Filters
    sort: Literal["relevance", "date"]
    errors: dict[str, str]  # field id → German/English message


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    url: str
    active: bool


def _message(exc: EakteError) -> str:
    return exc.detail_de if select_locale() == "de" and exc.detail_de else exc.detail


def _date(text: str, field: str, errors: dict[str, str]) -> dt.date | None:
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    errors[field] = _("Bitte geben Sie ein Datum wie 31.12.2026 an.")
    return None


def _form(args: MultiDict[str, str]) -> SearchForm:
    given = {k: (args.get(k) or "").strip() for k in _FILTER_KEYS}
    errors: dict[str, str] = {}
    date_from = _date(given["from"], "search-from", errors)
    date_to = _date(given["to"], "search-to", errors)
    if given["year"].isdigit() and len(given["year"]) == 4:  # the facet "year" narrows to that calendar year
        year = int(given["year"])
        date_from = max(date_from or dt.date(year, 1, 1), dt.date(year, 1, 1))
        date_to = min(date_to or dt.date(year, 12, 31), dt.date(year, 12, 31))
    else:
        given["year"] = ""
    status = given["status"] if given["status"] in ("open", "closed") else None
    filters = Filters(case_type=given["case_type"] or None, unit=given["unit"] or None, status=status,
                      kind=given["kind"] or None, date_from=date_from, date_to=date_to)
    sort: Literal["relevance", "date"] = "date" if args.get("sort") == "date" else "relevance"
    return SearchForm((args.get("q") or "").strip(), given, filters, sort, errors)


def _url(form: SearchForm, **changes: str | None) -> str:
    """This search's address with some filters changed (None removes one); always from the first page."""
    args: dict[str, str] = {"q": form.q, **form.given}
    if form.sort != "relevance":
        args["sort"] = form.sort
    for key, value in changes.items():
        args[key] = value or ""
    return url_for("search.index", **{k: v for k, v in args.items() if v})


def _facet_label(facet: str, value: str) -> str:
    if facet == "case_type":
        t = runtime().registry.get(value)
        return current_label(t.label_de, t.label_en) if t else value
    if facet == "status":
        return status_label(value)
    if facet == "kind":
        if value == NOTE_KIND:
            return _("Vermerk")
        for t in runtime().registry.types.values():
            for k in t.document_kinds:
                if k.key == value:
                    return current_label(k.label_de, k.label_en)
    return value


def _facets(form: SearchForm, facets: dict[str, dict[str, int]]) -> list[tuple[str, list[FacetValue]]]:
    out = []
    for facet in _FACET_ORDER:
        counts = facets.get(facet) or {}
        values = [FacetValue(str(v), _facet_label(facet, str(v)), n,
                             _url(form, **{facet: None if form.given.get(facet) == str(v) else str(v)}),
                             form.given.get(facet) == str(v))
                  for v, n in sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))]
        if values:
            out.append((facet, values))
    return out


@bp.get("/search")
@login_required
def index() -> tuple[str, int] | str:
    rt, actor = runtime(), current_actor()
    form = _form(request.args)
    size = rt.settings.web.page_size
    number = page_number()
    hits: list[search.SearchHit] = []
    total, facets = 0, {}
    status = 200
    errors = dict(form.errors)
    searched = "q" in request.args or any(form.given.values())
    if searched and not errors:
        try:
            hits, result = search.search(rt, actor, form.q, form.filters, sort=form.sort,
                                         offset=(number - 1) * size, limit=size)
            total, facets = result.total, result.facets
        except search.BadQuery as exc:
            errors["search-q"] = _message(exc)
    if errors:
        status = 422
    may_export = exports.may_export(actor)
    # One export checkbox per case, at its first hit on the page (a case may have several matching documents and
    # notes): the positions of those hits.
    first_of_case = {h.case_id: i for i, h in reversed(list(enumerate(hits)))}
    body = render_template(
        "search/index.html", form=form, hits=hits, total=total, searched=searched and not errors, errors=errors,
        page=page_of(total, size, number), facets=_facets(form, facets), snippet=snippet_html,
        first_of_case=set(first_of_case.values()), may_export=may_export,
        recent_exports=exports.my_exports(rt, actor, limit=5) if may_export else [],
        csv_url=url_for("search.csv", **{k: v for k, v in request.args.items() if k != "page"}),
        remove_url=lambda key: _url(form, **{key: None}), facet_label=_facet_label,
        breadcrumbs=[(_("Suche"), None)])
    return (body, status) if status != 200 else body


@bp.get("/search.csv")
@login_required
def csv() -> Response:
    form = _form(request.args)
    if form.errors:
        raise Invalid("malformed date", detail_de=next(iter(form.errors.values())))
    rows = search.results_csv(runtime(), current_actor(), form.q, form.filters, sort=form.sort)
    return Response(stream_with_context(rows), mimetype="text/csv",
                    headers={"Content-Disposition": content_disposition("suche.csv")})


@bp.post("/search/export")
@login_required
def export() -> Response:
    # CSRFProtect has checked the token before this runs (a POST without it is the 400 page).
    rt, actor = runtime(), current_actor()
    query = _form(request.form)
    if request.form.get("scope") == "all":
        selection = exports.ExportSelection((), query.q, query.filters)
    else:
        ids = tuple(int(v) for v in request.form.getlist("case_id") if v.isdigit())
        if not ids:
            raise Invalid("choose at least one case", field="case_ids",
                          detail_de="Bitte wählen Sie mindestens eine Akte aus.")
        selection = exports.ExportSelection(ids)
    bag = exports.stream_bag(rt, actor, exports.select_cases(rt, actor, selection))
    # The length is known before the first byte (export.js shows the progress from it); the receipt, which has
    # the package's SHA-256 once the last byte has gone out, is named in a header for the script to fetch.
    return Response(stream_with_context(bag.chunks), mimetype="application/zip",
                    headers={**download_headers(bag.filename, bag.size),
                             "X-Export-Receipt": url_for("search.receipt", name=bag.name)})


@bp.get("/search/exports/<name>")
@login_required
def receipt(name: str) -> Response | str:
    rt, actor = runtime(), current_actor()
    found = exports.export_receipt(rt, actor, name)
    if request.accept_mimetypes.best == "application/json":  # export.js, after the download
        return jsonify(name=found.name, complete=found.complete, sha256=found.sha256, size=found.size,
                       case_count=found.case_count, url=url_for("search.receipt", name=found.name))
    return render_template("search/receipt.html", receipt=found,
                           breadcrumbs=[(_("Suche"), url_for("search.index")), (_("Export"), None)])

