"""Integrity of what is stored: re-hash referenced blobs, and collect blobs no version references.

gc and ingest meet at one point per blob key. gc decides "unreferenced, so delete" and an upload decides "the
blob is there, so reference it"; done blindly, a deduplicated upload (whose put found the blob and wrote
nothing, so on S3 its age is not refreshed) can have its blob deleted between its put and its commit, leaving a
row without its file. Grace periods and age refreshes only narrow that window. Instead both decisions are made
under one lock per key, held to the end of a write transaction (`lock_blob`): gc checks for references and
deletes inside it; the transaction that records a reference checks the blob is present inside it, and stores
it again if gc has just removed it (`ensure_referenced_blob`). Whichever runs second sees what the first did.
"""
from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import BinaryIO, Callable

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from eakte import clock
from eakte.models import DocumentVersion, LevySurvey, PaymentExport
from eakte.runtime import Runtime
from eakte.services import audit
from eakte.services.access import Actor
from eakte.errors import Conflict
from storage import BlobCorrupt, BlobLocked, BlobNotFound, BlobRef, key_for, sha256_from_key

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
    """Every blob a row points at: document versions, the files of payment exports, levy print batches."""
    with rt.db.read() as session:
        keys = set(session.execute(select(DocumentVersion.blob_key).distinct()).scalars())
        for csv_key, pain_key in session.execute(select(PaymentExport.csv_key, PaymentExport.pain001_key)):
            keys.update(k for k in (csv_key, pain_key) if k)
        keys.update(key_for(sha) for sha in session.execute(
            select(LevySurvey.batch_sha256).where(LevySurvey.batch_sha256.is_not(None))).scalars())
        return keys


def _is_referenced(session: Session, key: str) -> bool:
    return bool(session.execute(select(DocumentVersion.id).where(DocumentVersion.blob_key == key).limit(1)).first()
                or session.execute(select(PaymentExport.id).where(
                    (PaymentExport.csv_key == key) | (PaymentExport.pain001_key == key)).limit(1)).first()
                or session.execute(select(LevySurvey.id).where(
                    LevySurvey.batch_sha256 == sha256_from_key(key)).limit(1)).first())


# Namespace of eakte's two-key advisory locks on blob keys (PostgreSQL keeps them apart from one-key locks).
_PG_BLOB_LOCKS = 0x626C6F62  # "blob"


def lock_blob(session: Session, key: str) -> None:
    """Hold the gc lock of `key` until the caller's write transaction ends.

    On SQLite every write transaction already holds the database's write lock from its start (BEGIN IMMEDIATE),
    which serialises gc and ingest for every key alike; on PostgreSQL a transaction-scoped advisory lock on the
    key does, so unrelated uploads do not wait for each other. Keys are hashes, so 32 bits of one are an even
    spread; two keys sharing a lock only ever makes one wait for the other.
    """
    if session.get_bind().dialect.name == "postgresql":
        slot = int.from_bytes(bytes.fromhex(sha256_from_key(key)[:8]), "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:ns, :slot)"), {"ns": _PG_BLOB_LOCKS, "slot": slot})


def ensure_referenced_blob(rt: Runtime, session: Session, blob: BlobRef,
                           reopen: Callable[[], AbstractContextManager[BinaryIO]]) -> None:
    """Call in the write transaction that records a row pointing at `blob`: afterwards, until the commit, gc
    cannot delete it, and it is there (stored again from `reopen()` if gc removed it since it was put)."""
    lock_blob(session, blob.key)
    if rt.blobs.exists(blob.key):
        return
    with reopen() as stream:
        again = rt.blobs.put(stream)
    if again.key != blob.key:  # the source changed under us: never record a wrong hash
        raise Conflict("the upload changed while it was stored; please retry")


def verify_storage(rt: Runtime, progress: Progress | None = None) -> VerifyReport:
    return _verify_keys(rt, sorted(referenced_keys(rt)), progress)


def verify_sample(rt: Runtime, limit: int, max_bytes: int | None = None) -> VerifyReport:
    """Re-hash the blobs of the newest `limit` versions: a check cheap enough for a page view, which finds a
    store that lost or damaged recent uploads (the full check is `verify_storage`). `max_bytes`: a blob that
    would take the sample beyond this many bytes is left out (uploads may be gigabytes each, and every byte is
    read, from S3 downloaded, while the page waits)."""
    with rt.db.read() as session:
        rows = session.execute(select(DocumentVersion.blob_key, DocumentVersion.size)
                               .order_by(DocumentVersion.id.desc()).limit(limit)).all()
    keys: set[str] = set()
    total = 0
    for key, size in rows:
        if key in keys or (max_bytes is not None and total + size > max_bytes):
            continue
        keys.add(key)
        total += size
    return _verify_keys(rt, sorted(keys))  # outside the read: hashing takes longer than a transaction should


def _verify_keys(rt: Runtime, keys: list[str], progress: Progress | None = None) -> VerifyReport:
    report = VerifyReport()
    for key in keys:
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
    cutoff = clock.now() - grace
    referenced = referenced_keys(rt)
    for info in rt.blobs.iter_blobs():
        if info.key in referenced:
            continue
        if info.modified > cutoff:
            report.kept_in_grace += 1
            continue
        if dry_run:
            with rt.db.read() as session:
                if not _is_referenced(session, info.key):
                    report.removed.append(info.key)
            continue
        _delete_unreferenced(rt, info.key, report)
    if not dry_run:
        # Temp files of crashed local puts, and multipart uploads on S3 that were never completed or aborted.
        report.temp_files_removed = rt.blobs.cleanup_temp(grace, now=clock.now())
    if (report.removed or report.temp_files_removed) and not dry_run:
        with rt.db.write() as session:
            audit.record(session, actor, "storage.gc", "blob_store", "-",
                         details={"removed": len(report.removed), "keys": report.removed[:1000],
                                  "locked": len(report.locked), "temp_files_removed": report.temp_files_removed})
    return report


def store_referenced(rt: Runtime, session: Session, stream: BinaryIO) -> BlobRef:
    """Put a seekable `stream` whose blob a row of this write transaction is about to reference (the files
    of a payment export): stored, and kept from gc until the commit, as an upload's are."""
    start = stream.tell()
    blob = rt.blobs.put(stream)

    def reopen() -> AbstractContextManager[BinaryIO]:
        stream.seek(start)
        return nullcontext(stream)

    ensure_referenced_blob(rt, session, blob, reopen)
    return blob


def _delete_unreferenced(rt: Runtime, key: str, report: GcReport) -> None:
    """The final check and the delete, under the key's lock (see the module docstring): an upload that
    references the key either committed before (its row is seen here) or stores the blob again after."""
    with rt.db.write() as session:
        lock_blob(session, key)
        if _is_referenced(session, key):
            return
        try:
            rt.blobs.delete(key)
            report.removed.append(key)
        except BlobLocked:
            report.locked.append(key)
