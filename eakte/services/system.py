"""What the admin status page shows: database and schema, the configured backends, the search outbox's lag and
the text extractions that failed. Only counts and the oldest timestamps: cheap enough for every page view."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from eakte.clock import utcnow
from eakte.models import DocumentVersion, SearchOutbox
from eakte.runtime import Runtime
from eakte.services.access import Actor, require_admin

_FAILURES_SHOWN = 20


@dataclass(frozen=True)
class ExtractionFailure:
    version_id: int
    document_id: int
    filename: str
    error: str
    uploaded_at: dt.datetime


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

    @property
    def schema_current(self) -> bool:
        return self.schema_revision == self.schema_head


def status(rt: Runtime, actor: Actor) -> SystemStatus:
    require_admin(actor.principal)
    with rt.db.read() as session:
        pending, oldest = session.execute(select(func.count(), func.min(SearchOutbox.created_at))).one()
        by_status = dict(session.execute(select(DocumentVersion.text_status, func.count())
                                         .where(DocumentVersion.text_status.in_(("pending", "failed")))
                                         .group_by(DocumentVersion.text_status)).all())
        failed = session.execute(select(DocumentVersion).where(DocumentVersion.text_status == "failed")
                                 .order_by(DocumentVersion.id.desc()).limit(_FAILURES_SHOWN)).scalars()
        failures = tuple(ExtractionFailure(v.id, v.document_id, v.filename, v.text_error or "", v.uploaded_at)
                         for v in failed)
    s = rt.settings
    return SystemStatus(
        database=rt.db.engine.dialect.name, schema_revision=rt.db.current_revision(),
        schema_head=rt.db.head_revision(), storage_backend=s.storage.backend, search_backend=s.search.backend,
        jobs_backend=s.jobs.backend, outbox_pending=pending, outbox_oldest=oldest,
        outbox_lag=utcnow() - oldest if oldest else None, extraction_pending=by_status.get("pending", 0),
        extraction_failed=by_status.get("failed", 0), failures=failures)
