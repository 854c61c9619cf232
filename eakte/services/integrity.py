"""Integrity of what is stored: re-hash referenced blobs, and collect blobs no version references."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import select

from eakte.models import DocumentVersion, PaymentExport
from eakte.runtime import Runtime
from eakte.services import audit
from eakte.services.access import Actor
from storage import BlobCorrupt, BlobLocked, BlobNotFound, LocalBlobStore

Progress = Callable[[int], None]


@dataclass
class VerifyReport:
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.corrupt


@dataclass
class GcReport:
    removed: list[str] = field(default_factory=list)
    kept_in_grace: int = 0
    locked: list[str] = field(default_factory=list)
    temp_files_removed: int = 0


def referenced_keys(rt: Runtime) -> set[str]:
    """Every blob a row points at: document versions and the files of payment exports."""
    with rt.db.read() as session:
        keys = set(session.execute(select(DocumentVersion.blob_key).distinct()).scalars())
        for csv_key, pain_key in session.execute(select(PaymentExport.csv_key, PaymentExport.pain001_key)):
            keys.update(k for k in (csv_key, pain_key) if k)
        return keys


def _is_referenced(rt: Runtime, key: str) -> bool:
    with rt.db.read() as session:
        return bool(session.execute(select(DocumentVersion.id).where(DocumentVersion.blob_key == key).limit(1)).first()
                    or session.execute(select(PaymentExport.id).where(
                        (PaymentExport.csv_key == key) | (PaymentExport.pain001_key == key)).limit(1)).first())


def verify_storage(rt: Runtime, progress: Progress | None = None) -> VerifyReport:
    report = VerifyReport()
    for key in sorted(referenced_keys(rt)):
        try:
            rt.blobs.verify(key)
        except BlobNotFound:
            report.missing.append(key)
        except BlobCorrupt:
            report.corrupt.append(key)
        report.checked += 1
        if progress:
            progress(1)
    return report


def collect_garbage(rt: Runtime, actor: Actor, grace: dt.timedelta, *, dry_run: bool = False) -> GcReport:
    """Blobs younger than `grace` are kept even when unreferenced: their upload may still be committing."""
    report = GcReport()
    cutoff = dt.datetime.now(dt.timezone.utc) - grace
    referenced = referenced_keys(rt)
    for info in rt.blobs.iter_blobs():
        if info.key in referenced:
            continue
        if info.modified > cutoff:
            report.kept_in_grace += 1
            continue
        # Re-check just before deleting: an upload of the same bytes may have referenced it meanwhile.
        if _is_referenced(rt, info.key):
            continue
        if dry_run:
            report.removed.append(info.key)
            continue
        try:
            rt.blobs.delete(info.key)
            report.removed.append(info.key)
        except BlobLocked:
            report.locked.append(info.key)
    if isinstance(rt.blobs, LocalBlobStore) and not dry_run:
        report.temp_files_removed = rt.blobs.cleanup_temp(grace)
    if (report.removed or report.temp_files_removed) and not dry_run:
        with rt.db.write() as session:
            audit.record(session, actor, "storage.gc", "blob_store", "-",
                         details={"removed": len(report.removed), "keys": report.removed[:1000],
                                  "locked": len(report.locked), "temp_files_removed": report.temp_files_removed})
    return report
