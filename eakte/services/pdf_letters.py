"""Official letters as PDF/A-3b: HTML from a case type's Jinja templates, PDF from WeasyPrint with the fonts
embedded and an sRGB output intent, so a letter can be archived as it was sent; and filing such a letter as a
generated (managed) document of a procedure, streamed through a temp file like every other ingest.

The trade register's receipts and extracts and the levy's letters and notices use it, each with its own
template directory (`LetterTemplates`)."""
from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Mapping

import jinja2
from sqlalchemy.orm import Session

from eakte.clock import office_today
from eakte.models import Case, Document
from eakte.runtime import Runtime
from eakte.services import documents
from eakte.services.access import Actor

PDF_VARIANT = "pdf/a-3b"
# The letter frame every letter extends ("_letter.html": letterhead, window, body) and its stylesheet.
SHARED = Path(__file__).resolve().parent / "letter_templates"


@dataclass(frozen=True)
class LetterTemplates:
    """The Jinja templates of one case type's letters; they extend the shared frame (`SHARED`)."""

    directory: Path
    _env: jinja2.Environment = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_env", jinja2.Environment(
            loader=jinja2.FileSystemLoader([self.directory, SHARED]), autoescape=True, undefined=jinja2.StrictUndefined,
            trim_blocks=True, lstrip_blocks=True))

    def html(self, template: str, context: Mapping[str, Any]) -> str:
        return self._env.get_template(template).render(**context)

    def write_pdf(self, template: str, context: Mapping[str, Any], target: IO[bytes] | None = None) -> bytes | None:
        """The template as PDF/A-3b, into `target` (a file) or returned as bytes."""
        import weasyprint  # loaded when a letter is made, not by everything that imports a letters module
        document = weasyprint.HTML(string=self.html(template, context), base_url=str(SHARED) + "/")
        return document.write_pdf(target, pdf_variant=PDF_VARIANT)

    def pdf(self, template: str, context: Mapping[str, Any]) -> bytes:
        out = self.write_pdf(template, context)
        assert out is not None
        return out


def file_letter(rt: Runtime, session: Session, actor: Actor, case: Case, templates: LetterTemplates, template: str,
                context: Mapping[str, Any], *, kind: str, title: str, filename: str, procedure_id: int | None,
                document_date: dt.date | None = None) -> tuple[Document, str]:
    """Render `template` and file it as a generated document of `kind` in the caller's transaction; the
    document and the PDF's SHA-256."""
    with tempfile.TemporaryFile(dir=rt.tmp_dir, prefix="letter-") as fh:
        templates.write_pdf(template, context, fh)
        fh.seek(0)
        upload = documents.Upload(fh, documents.safe_filename(filename), "application/pdf")
        with documents.staged_upload(rt, upload) as staged:
            blob = documents.store_staged(rt, staged)
            new = documents.NewDocument(title=title, kind=kind, document_date=document_date or office_today(),
                                        procedure_id=procedure_id)
            document = documents.record_document(rt, session, actor, case, new, staged, blob, flow=True).document
    return document, staged.sha256


def german_date(value: Any) -> str:
    """dd.mm.yyyy of a date, datetime or ISO text; "" for nothing."""
    if value in (None, ""):
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        value = dt.date.fromisoformat(str(value)[:10])
    return value.strftime("%d.%m.%Y")
