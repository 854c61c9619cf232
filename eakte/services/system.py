"""What the admin status page shows: database and schema, the configured backends, the job queue, the search
outbox's lag and the index check, the text extractions that failed, a sample of the blob store verified and the
data directory's size. Every part is bounded (a sample, a limit, a walk that stops), so a page view stays cheap
however large the installation: the full checks run as jobs (`eakte.services.verification`)."""
from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eakte.clock import utcnow
from eakte.config import MIB
from eakte.models import Case, Document, DocumentVersion, SearchOutbox
from eakte.runtime import QueueInfo, Runtime
from eakte.services import indexing, integrity
from eakte.services.access import (Actor, hidden_subfiles, require_admin, visible_case_rows_filter,
                                   visible_documents_filter)
from workflows.registry import Registry

_FAILURES_SHOWN = 20
SAMPLE_VERIFIED = 20  # the newest versions whose blobs each page view re-hashes
SAMPLE_MAX_BYTES = 64 * MIB  # and no more bytes of them than this: an upload may be gigabytes
SEARCH_CHECK_MAX_DOCUMENTS = 50_000  # above that, comparing all ids per page view costs too much: use the CLI
DISK_WALK_MAX_FILES = 200_000  # the walk of the data directory stops here and says the sum is a lower bound
DISK_WALK_MAX_SECONDS = 3.0  # and after this long: a slow (network) file system must not hold the page


@dataclass(frozen=True)
class ExtractionFailure:
    version_id: int
    document_id: int
    title: str
    filename: str
    error: str
    uploaded_at: dt.datetime
    # The document lies where the admin may not look (a personnel file read only with a recorded reason, a
    # sub-file kept for another unit): title, file name and error stay out; the retry still works.
    hidden: bool = False


@dataclass(frozen=True)
class DiskUse:
    bytes: int
    files: int
    complete: bool  # False: the walk stopped at DISK_WALK_MAX_FILES, `bytes` is a lower bound


@dataclass(frozen=True)
class SystemStatus:
    database: str  # dialect name: "sqlite", "postgresql"
    schema_revision: str | None
    schema_head: str | None
    storage_backend: str
    search_backend: str
    jobs_backend: str
    outbox_pending: int
    outbox_oldest: dt.datetime | None  # naive UTC
    outbox_lag: dt.timedelta | None  # how long the oldest change has waited for the index
    extraction_pending: int
    extraction_failed: int
    failures: tuple[ExtractionFailure, ...]  # the newest, at most _FAILURES_SHOWN
    queue: QueueInfo | None  # None: the immediate backend runs every job when it is enqueued
    sample: integrity.VerifyReport  # the blobs of the newest SAMPLE_VERIFIED versions, re-hashed
    search_check: indexing.CheckReport | None  # None: too many documents to compare on a page view
    disk: DiskUse | None  # the data directory; None unless the blobs are stored there (local backend)

    @property
    def schema_current(self) -> bool:
        return self.schema_revision == self.schema_head

    @property
    def queue_wait(self) -> dt.timedelta | None:
        if self.queue is None or self.queue.oldest_enqueued_at is None:
            return None
        return utcnow() - self.queue.oldest_enqueued_at


def status(rt: Runtime, actor: Actor) -> SystemStatus:
    require_admin(actor.principal)
    with rt.db.read() as session:
        pending, oldest = session.execute(select(func.count(), func.min(SearchOutbox.created_at))).one()
        by_status = dict(session.execute(select(DocumentVersion.text_status, func.count())
                                         .where(DocumentVersion.text_status.in_(("pending", "failed")))
                                         .group_by(DocumentVersion.text_status)).all())
        failed = session.execute(select(DocumentVersion, Document.title).join(Document)
                                 .where(DocumentVersion.text_status == "failed")
                                 .order_by(DocumentVersion.id.desc()).limit(_FAILURES_SHOWN)).all()
        shown = _visible_documents(session, actor, rt.registry, [v.document_id for v, _ in failed])
        failures = tuple(ExtractionFailure(v.id, v.document_id, title, v.filename, v.text_error or "",
                                           v.uploaded_at) if v.document_id in shown else
                         ExtractionFailure(v.id, v.document_id, "", "", "", v.uploaded_at, hidden=True)
                         for v, title in failed)
        documents = session.execute(select(func.count()).select_from(Document)).scalar_one()
    s = rt.settings
    return SystemStatus(
        database=rt.db.engine.dialect.name, schema_revision=rt.db.current_revision(),
        schema_head=rt.db.head_revision(), storage_backend=s.storage.backend, search_backend=s.search.backend,
        jobs_backend=s.jobs.backend, outbox_pending=pending, outbox_oldest=oldest,
        outbox_lag=utcnow() - oldest if oldest else None, extraction_pending=by_status.get("pending", 0),
        extraction_failed=by_status.get("failed", 0), failures=failures, queue=rt.jobs.queue_info(),
        sample=integrity.verify_sample(rt, SAMPLE_VERIFIED, SAMPLE_MAX_BYTES),
        search_check=indexing.check(rt) if documents <= SEARCH_CHECK_MAX_DOCUMENTS else None,
        disk=disk_use(s.data_dir) if s.storage.backend == "local" else None)


def _visible_documents(session: Session, actor: Actor, registry: Registry, ids: list[int]) -> set[int]:
    """Those of the documents the caller may see (the document lists' rule: case and sub-file)."""
    if not ids:
        return set()
    p = actor.principal
    return set(session.execute(select(Document.id).join(Case, Case.id == Document.case_id).where(
        Document.id.in_(ids), visible_case_rows_filter(p), visible_documents_filter(hidden_subfiles(
            session, p, registry)))).scalars())


def disk_use(root: Path, max_files: int = DISK_WALK_MAX_FILES,
             max_seconds: float = DISK_WALK_MAX_SECONDS) -> DiskUse:
    """The sum of the file sizes under `root` (without following links), stopping after `max_files` files or
    `max_seconds`, whichever comes first."""
    deadline = time.monotonic() + max_seconds
    total = files = 0
    stack = [str(root)]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:  # removed meanwhile, or unreadable: the sum is of what can be read
            continue
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
                        files += 1
                        if files >= max_files or time.monotonic() > deadline:
                            return DiskUse(total, files, False)
                except OSError:
                    continue
    return DiskUse(total, files, True)
