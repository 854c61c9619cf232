"""Text extraction as a background job: stored versions get their text after upload, with retries."""
from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import select, update

from eakte.clock import utcnow
from eakte.db import after_commit
from eakte.errors import Conflict, NotFound
from eakte.models import DocumentVersion, ExtractedText
from eakte.runtime import Runtime
from eakte.services import audit, indexing
from eakte.services.access import Actor, require_admin

STALE_AFTER = dt.timedelta(minutes=10)


def extract_version(rt: Runtime, version_id: int) -> str:
    """Extract once: a version whose status is no longer pending is left alone (jobs may run twice)."""
    with rt.db.read() as session:
        version = session.get(DocumentVersion, version_id)
        if version is None or version.text_status != "pending":
            return "skipped"
        blob_key, mime, document_id = version.blob_key, version.mime_type, version.document_id
    # The sandbox reads a path; the blob may live in S3, so copy it (streaming) to a private temp file.
    with tempfile.NamedTemporaryFile(dir=rt.tmp_dir, prefix="extract-") as tmp:
        with rt.blobs.open(blob_key) as src:  # a storage error propagates: the job is retried
            shutil.copyfileobj(src, tmp, 1024 * 1024)
        tmp.flush()
        result = rt.extractor.extract(Path(tmp.name), mime)
    with rt.db.write() as session:
        changed = session.execute(
            update(DocumentVersion).where(DocumentVersion.id == version_id, DocumentVersion.text_status == "pending")
            .values(text_status=result.status, text_error=result.error or None)).rowcount
        if changed and result.status == "done" and result.text:
            session.add(ExtractedText(version_id=version_id, text=result.text))
        if changed:  # the index waits for this, whatever the outcome (indexing._awaiting_text)
            indexing.document_changed(session, document_id)
    return result.status


def retry_failed(rt: Runtime, actor: Actor, version_id: int) -> None:
    """An admin's retry of a failed extraction (the cause may be gone: a timeout under load, a fixed
    extractor): pending again, audited, and enqueued after the commit. Conflict unless it had failed."""
    require_admin(actor.principal)
    with rt.db.write() as session:
        version = session.get(DocumentVersion, version_id)
        if version is None:
            raise NotFound("No document version with this id", detail_de="Nicht gefunden")
        if version.text_status != "failed":
            raise Conflict(f"the text extraction of version {version_id} has not failed ({version.text_status})",
                           detail_de="Die Texterkennung dieser Version ist nicht fehlgeschlagen")
        audit.record(session, actor, "document.extraction_retry", "document", version.document_id,
                     case_id=version.document.case_id,
                     details={"version": version.number, "version_id": version.id, "error": version.text_error})
        version.text_status, version.text_error = "pending", None
        after_commit(session, lambda: rt.jobs.extract_text(version_id))


def requeue_stale(rt: Runtime) -> int:
    """Versions still pending long after upload lost their job (a crash between commit and enqueue): requeue."""
    cutoff = utcnow() - STALE_AFTER
    with rt.db.read() as session:
        ids = list(session.execute(select(DocumentVersion.id).where(
            DocumentVersion.text_status == "pending", DocumentVersion.uploaded_at < cutoff).limit(1000)).scalars())
    for version_id in ids:
        rt.jobs.extract_text(version_id)
    return len(ids)
