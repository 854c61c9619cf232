"""Documents: the document page with its versions, uploading (several files at once, each on its own), new
versions, download and preview. Every byte goes through eakte.services.documents, as the API's do."""
from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from typing import Any, Iterator

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from eakte.presenters import content_disposition
from eakte.errors import EakteError, Invalid
from eakte.services import cases, documents
from eakte.web.auth import current_actor, login_required
from eakte.web.i18n import select_locale
from eakte.web.runtime import runtime

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
    document, uploaders = documents.document_with_uploaders(runtime(), current_actor(), document_id)
    case = document.case
    return render_template("documents/show.html", document=document, case=case, uploaders=uploaders,
                           actions=cases.case_actions(runtime(), current_actor(), case.id),
                           kind_label=kind_label(case.case_type, document.kind),
                           breadcrumbs=[(_("Akten"), url_for("cases.index")),
                                        (case.reference, url_for("cases.show", case_id=case.id)),
                                        (document.title, None)])


@bp.post("/cases/<int:case_id>/documents")
@login_required
def upload(case_id: int) -> Any:
    files = [f for f in request.files.getlist("file") if f.filename or f.content_length]
    wants_json = request.accept_mimetypes.best == "application/json"
    if not files:
        message = _("Bitte wählen Sie mindestens eine Datei aus.")
        if wants_json:
            return jsonify(files=[], message=message), 422
        flash(message, "error")
        return redirect(url_for("cases.show", case_id=case_id), code=303)
    cases.read_case(runtime(), current_actor(), case_id)  # an invisible case is a 404 page before any file is read
    title = (request.form.get("title") or "").strip()
    kind = request.form.get("kind") or "document"
    results = [_ingest(case_id, f, title if len(files) == 1 else "", kind) for f in files]
    for r in results:  # flashed for the script too: the page it reloads then shows every file's outcome
        flash(r.message, "success" if r.ok else "error")
    if wants_json:
        return jsonify(files=[r.__dict__ for r in results])
    return redirect(url_for("cases.show", case_id=case_id), code=303)


def _ingest(case_id: int, storage: FileStorage, title: str, kind: str) -> FileResult:
    """One file on its own: a refused file does not stop the others."""
    name = documents.safe_filename(storage.filename)
    new = documents.NewDocument(title=title or name, kind=kind)
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
    storage = request.files.get("file")
    if storage is None or not (storage.filename or storage.content_length):
        flash(_("Bitte wählen Sie eine Datei aus."), "error")
        return redirect(url_for("documents.show", document_id=document_id), code=303)
    name = documents.safe_filename(storage.filename)
    try:
        result = documents.add_version(runtime(), current_actor(), document_id, _upload(storage))
    except EakteError as exc:
        if exc.status in (403, 404):
            raise
        flash(_("Die neue Version wurde nicht angenommen: %(reason)s", reason=_reason(exc)), "error")
        return redirect(url_for("documents.show", document_id=document_id), code=303)
    flash(_("Version %(n)s (%(name)s) wurde gespeichert.", n=result.version.number, name=name), "success")
    return redirect(url_for("documents.show", document_id=document_id), code=303)


@bp.get("/documents/<int:document_id>/versions/<int:number>/download")
@login_required
def download(document_id: int, number: int) -> Response:
    version, stream = documents.open_content(runtime(), current_actor(), document_id, number)
    inline = request.args.get("inline") == "1" and inline_kind(version.mime_type) is not None
    disposition = content_disposition(version.filename, "inline" if inline else "attachment")
    headers = {"Content-Disposition": disposition, "Content-Length": str(version.size),
               "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
               "Content-Security-Policy": _INLINE_CSP if inline else "sandbox; default-src 'none'"}
    if inline:
        headers["X-Frame-Options"] = "SAMEORIGIN"  # the preview page frames it; other sites may not

    def body() -> Iterator[bytes]:
        with closing(stream):
            yield from documents.iter_chunks(stream)

    return Response(stream_with_context(body()), mimetype=version.mime_type, headers=headers,
                    direct_passthrough=True)


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
    """(key, label) of the document kinds the case type declares, for the upload form of any page."""
    case_type = runtime().registry.get(case_type_key)
    kinds = case_type.document_kinds if case_type else ()
    german = select_locale() == "de"
    return [(k.key, k.label_de if german else k.label_en) for k in kinds] or [("document", _("Dokument"))]


def kind_label(case_type_key: str, kind: str) -> str:
    case_type = runtime().registry.get(case_type_key)
    declared = next((k for k in case_type.document_kinds if k.key == kind), None) if case_type else None
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
