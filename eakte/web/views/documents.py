"""Documents: the document page with its versions, uploading (several files at once, each on its own), new
versions, download and preview. Every byte goes through eakte.services.documents, as the API's do."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from flask import Blueprint, Response, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from eakte.http import file_response
from eakte.presenters import content_disposition
from eakte.errors import EakteError, Invalid
from eakte.services import cases, checkout, documents
from eakte.web.auth import current_actor, login_required
from eakte.web.i18n import select_locale
from eakte.web.runtime import runtime
from eakte.web.views import cases as case_pages

bp = Blueprint("documents", __name__)

# A user's file shown inline gets an opaque origin (sandbox) and may load nothing: it can never run script as this
# site. Chromium's PDF viewer still renders under it in the preview's iframe (checked with /usr/bin/chromium);
# only our own pages may frame it.
_INLINE_CSP = "sandbox; default-src 'none'; img-src 'self'; frame-ancestors 'self'"
_BROWSER_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


@dataclass(frozen=True)
class FileResult:
    name: str
    ok: bool
    message: str
    document_url: str | None = None


@bp.get("/documents/<int:document_id>")
@login_required
def show(document_id: int) -> str:
    return _show(document_id)


def _show(document_id: int, errors: dict[str, str] | None = None) -> str:
    """The document page; `errors`: a refused form's messages by field (shown at the field)."""
    document, uploaders = documents.document_with_uploaders(runtime(), current_actor(), document_id)
    case = document.case
    return render_template("documents/show.html", document=document, case=case, uploaders=uploaders,
                           actions=cases.case_actions(runtime(), current_actor(), case.id),
                           checkout=checkout.checkout_state(runtime(), current_actor(), document_id),
                           errors=errors or {}, kind_label=kind_label(case.case_type, document.kind),
                           breadcrumbs=[(_("Akten"), url_for("cases.index")),
                                        (case.reference, url_for("cases.show", case_id=case.id)),
                                        (document.title, None)])


@bp.post("/cases/<int:case_id>/documents")
@login_required
def upload(case_id: int) -> Any:
    files = [f for f in request.files.getlist("file") if f.filename or f.content_length]
    wants_json = request.accept_mimetypes.best == "application/json"
    # Into a procedure when the procedure page's form sends its id (the service checks it belongs to the case).
    procedure_id = request.form.get("procedure_id", type=int)
    back = url_for("procedures.show", procedure_id=procedure_id) if procedure_id else \
        url_for("cases.show", case_id=case_id)
    if not files:
        message = _("Bitte wählen Sie mindestens eine Datei aus.")
        if wants_json:
            return jsonify(files=[], message=message), 422
        flash(message, "error")
        return redirect(back, code=303)
    # An invisible case: a 404 before any file is read (a check, no read of the case to trace).
    case = cases.read_case(runtime(), current_actor(), case_id, log=False)
    title = (request.form.get("title") or "").strip()
    kind = request.form.get("kind") or "document"
    try:  # once for all files, and at its field: every file would be refused for it alike
        documents.require_allowed_kind(runtime(), case, kind)
    except Invalid as exc:
        if wants_json:
            flash(_reason(exc), "error")  # the script reloads the page, which shows it
            return jsonify(files=[], message=_reason(exc)), 422
        g.upload_errors = {"kind": _reason(exc)}  # read by documents/_upload.html inside the case page
        return case_pages.show(case_id), 422
    results = [_ingest(case_id, f, title if len(files) == 1 else "", kind, procedure_id) for f in files]
    for r in results:  # flashed for the script too: the page it reloads then shows every file's outcome
        flash(r.message, "success" if r.ok else "error")
    if wants_json:
        return jsonify(files=[r.__dict__ for r in results])
    return redirect(back, code=303)


def _ingest(case_id: int, storage: FileStorage, title: str, kind: str,
            procedure_id: int | None = None) -> FileResult:
    """One file on its own: a refused file does not stop the others."""
    name = documents.safe_filename(storage.filename)
    new = documents.NewDocument(title=title or name, kind=kind, procedure_id=procedure_id)
    try:
        result = documents.add_document(runtime(), current_actor(), case_id, new, _upload(storage))
    except EakteError as exc:
        if exc.status in (403, 404, 409):
            raise  # not about this file: the whole request is refused
        return FileResult(name, False, _("Die Datei %(name)s wurde nicht angenommen: %(reason)s", name=name,
                                         reason=_reason(exc)))
    return FileResult(name, True, _("Die Datei %(name)s wurde gespeichert.", name=name),
                      url_for("documents.show", document_id=result.document.id))


@bp.post("/documents/<int:document_id>/versions")
@login_required
def new_version(document_id: int) -> Any:
    return _version_from_form(document_id, documents.add_version, lambda n, name: _(
        "Version %(n)s (%(name)s) wurde gespeichert.", n=n, name=name))


@bp.post("/documents/<int:document_id>/checkin")
@login_required
def check_in(document_id: int) -> Any:
    return _version_from_form(document_id, checkout.check_in, lambda n, name: _(
        "Version %(n)s (%(name)s) wurde eingecheckt; das Dokument ist wieder frei.", n=n, name=name))


def _version_from_form(document_id: int, store: Callable[..., documents.Ingested],
                       done: Callable[[int, str], str]) -> Response:
    """A new version from the page's upload form, through `store` (a plain new version, or a check-in)."""
    storage = request.files.get("file")
    if storage is None or not (storage.filename or storage.content_length):
        flash(_("Bitte wählen Sie eine Datei aus."), "error")
        return redirect(url_for("documents.show", document_id=document_id), code=303)
    name = documents.safe_filename(storage.filename)
    try:
        result = store(runtime(), current_actor(), document_id, _upload(storage))
    except EakteError as exc:
        if exc.status in (403, 404):
            raise
        flash(_("Die neue Version wurde nicht angenommen: %(reason)s", reason=_reason(exc)), "error")
        return redirect(url_for("documents.show", document_id=document_id), code=303)
    flash(done(result.version.number, name), "success")
    return redirect(url_for("documents.show", document_id=document_id), code=303)


# --- check-out ----------------------------------------------------------------------------------------------

@bp.post("/documents/<int:document_id>/checkout")
@login_required
def check_out(document_id: int) -> Response:
    return _checkout_step(document_id, lambda: checkout.check_out(runtime(), current_actor(), document_id),
                          _("Sie haben das Dokument ausgecheckt. Bis zum Einchecken kann niemand sonst eine neue "
                            "Version hochladen."))


@bp.post("/documents/<int:document_id>/checkout/cancel")
@login_required
def cancel_checkout(document_id: int) -> Response:
    return _checkout_step(document_id, lambda: checkout.cancel(runtime(), current_actor(), document_id),
                          _("Das Auschecken wurde abgebrochen; das Dokument ist wieder frei."))


@bp.post("/documents/<int:document_id>/checkout/break")
@login_required
def break_checkout(document_id: int) -> Response | tuple[str, int]:
    reason = request.form.get("reason") or ""
    return _checkout_step(document_id, lambda: checkout.break_lock(runtime(), current_actor(), document_id, reason),
                          _("Die Sperre wurde aufgehoben; das Dokument ist wieder frei."))


def _checkout_step(document_id: int, step: Callable[[], object], done: str) -> Response | tuple[str, int]:
    """Run a check-out step: a conflict (someone else holds it, the case is closed) is a message on the page,
    an invalid field (the reason) is shown at the field."""
    try:
        step()
    except Invalid as exc:
        return _show(document_id, {str(exc.extra.get("field")): _reason(exc)}), 422
    except EakteError as exc:
        if exc.status in (403, 404):
            raise
        flash(_("Das war nicht möglich: %(reason)s", reason=_reason(exc)), "error")
    else:
        flash(done, "success")
    return redirect(url_for("documents.show", document_id=document_id), code=303)


@bp.get("/documents/<int:document_id>/versions/<int:number>/download")
@login_required
def download(document_id: int, number: int) -> Response:
    version, stream = documents.open_content(runtime(), current_actor(), document_id, number,
                                             via="inline" if request.args.get("inline") == "1" else "download")
    inline = request.args.get("inline") == "1" and inline_kind(version.mime_type) is not None
    disposition = content_disposition(version.filename, "inline" if inline else "attachment")
    headers = {"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff",
               "Cache-Control": "private, no-store",
               "Content-Security-Policy": _INLINE_CSP if inline else "sandbox; default-src 'none'"}
    if inline:
        headers["X-Frame-Options"] = "SAMEORIGIN"  # the preview page frames it; other sites may not
    return file_response(version, stream, headers)


@bp.get("/documents/<int:document_id>/preview")
@login_required
def preview(document_id: int) -> str:
    number = request.args.get("version", type=int)
    document, version, text = documents.version_text(runtime(), current_actor(), document_id, number)
    case = document.case
    return render_template("documents/preview.html", document=document, version=version, text=text,
                           kind=inline_kind(version.mime_type), case=case,
                           breadcrumbs=[(_("Akten"), url_for("cases.index")),
                                        (case.reference, url_for("cases.show", case_id=case.id)),
                                        (document.title, url_for("documents.show", document_id=document.id)),
                                        (_("Vorschau"), None)])


def inline_kind(mime_type: str) -> str | None:
    """How the browser can show this type itself: "pdf", "image", or None (then the extracted text is shown)."""
    if mime_type == "application/pdf":
        return "pdf"
    if mime_type in _BROWSER_IMAGE_TYPES:
        return "image"
    return None


@bp.app_template_global("document_kind_options")
def document_kind_options(case_type_key: str) -> list[tuple[str, str]]:
    """(key, label) of the document kinds a case of the type takes (the ones the upload checks), for the upload
    form of any page; not the `managed` ones, which only their case type's own flow files."""
    german = select_locale() == "de"
    return [(k.key, k.label_de if german else k.label_en) for k in documents.allowed_kinds(runtime(), case_type_key)
            if not k.managed]


def kind_label(case_type_key: str, kind: str) -> str:
    declared = next((k for k in documents.allowed_kinds(runtime(), case_type_key) if k.key == kind), None)
    if declared is None:
        return kind
    return declared.label_de if select_locale() == "de" else declared.label_en


def _upload(storage: FileStorage) -> documents.Upload:
    # The stream as werkzeug spooled it: the service reads it in chunks, never whole.
    return documents.Upload(stream=storage.stream, filename=storage.filename or "",
                            claimed_type=storage.mimetype or None)


def _reason(exc: EakteError) -> str:
    german = select_locale() == "de"
    detail = exc.detail_de if german and exc.detail_de else exc.detail
    title = exc.title_de if german else exc.title
    if isinstance(exc, Invalid) and exc.extra.get("field") not in (None, "file"):
        return detail or title
    return f"{title}: {detail}" if detail and detail != title else title
