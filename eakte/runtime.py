"""Wiring: settings → database, blob store, file-type sniffing and text extraction, built once per process.

The runtime also owns the interface through which services enqueue background work (`JobQueue`); `eakte.jobs`
implements it and calls the services, so the dependencies run one way: jobs → services → runtime. A runtime
gets its job queue passed in (`eakte.bootstrap.build_runtime` does that for every entry point)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable, Protocol

from eakte.config import MIB, Settings, check_confidentiality
from eakte.errors import ConfigError
from eakte.db import Database
from eakte.extraction import TextExtractor
from storage import BlobStore, LocalBlobStore, ObjectLockDefaults, S3BlobStore, S3Settings
from search import SearchIndex
from workflows.registry import Registry, load_registry


class JobQueue(Protocol):
    """The background jobs services may ask for, by name. Each call only enqueues (with the `immediate` backend
    it also runs the job at once); call them after the commit, so the job sees the rows it needs."""

    def extract_text(self, version_id: int) -> object: ...

    def run_hooks(self, case_id: int, step: str) -> object: ...

    def drain_search_outbox(self) -> object: ...

    def run_verification(self, kind: str, run_id: int) -> object:
        """An integrity check (`eakte.services.verification`); `run_id`: the audit event that started it."""
        ...

    def queue_info(self) -> QueueInfo | None:
        """What waits in the queue; None where jobs run at once when enqueued (nothing can wait)."""
        ...


@dataclass(frozen=True)
class QueueInfo:
    waiting: int
    oldest_name: str | None  # the job that runs next (the queue is first in, first out)
    oldest_enqueued_at: dt.datetime | None  # naive UTC; None when its enqueue time is unknown


@dataclass
class Runtime:
    settings: Settings
    # Builds the job queue on first use; None: this runtime cannot enqueue (e.g. a migration-only tool).
    job_queue: Callable[[Runtime], JobQueue] | None = None

    @cached_property
    def db(self) -> Database:
        if self.settings.database.url == "":
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(self.settings.database_url, pool_size=self.settings.database.pool_size,
                      echo=self.settings.database.echo)
        db.on_commit(self._after_commit)
        return db

    def _after_commit(self, info: dict[str, object]) -> None:
        # Records changed in a way the index must learn of: let the indexer job drain the outbox now.
        if info.pop("eakte_search_dirty", False):
            self.jobs.drain_search_outbox()

    @cached_property
    def blobs(self) -> BlobStore:
        s = self.settings.storage
        if s.backend == "local":
            return LocalBlobStore(self.settings.local_blob_path)
        store = S3BlobStore(S3Settings(
            endpoint_url=s.endpoint_url or None, region=s.region, bucket=s.bucket,
            access_key=s.access_key or None, secret_key=s.secret_key or None,
            addressing_style=s.addressing_style, prefix=s.prefix,
            multipart_threshold=s.multipart_threshold_mb * MIB, multipart_chunksize=s.multipart_chunksize_mb * MIB,
            object_lock=ObjectLockDefaults(mode=s.object_lock_mode or None,  # type: ignore[arg-type]
                                           days=s.object_lock_days, legal_hold=s.legal_hold)
            if s.object_lock_mode or s.legal_hold else None,
            spool_dir=self.tmp_dir))
        if s.create_bucket:
            store.ensure_bucket(object_lock=bool(s.object_lock_mode or s.legal_hold))
        return store

    @cached_property
    def extractor(self) -> TextExtractor:
        i = self.settings.ingest
        return TextExtractor(timeout_s=i.extraction_timeout_s, memory_mb=i.extraction_memory_mb,
                             max_chars=i.max_text_chars, workers=i.extraction_workers)

    @cached_property
    def jobs(self) -> JobQueue:
        if self.job_queue is None:
            raise ConfigError("this runtime was built without a job queue: use eakte.bootstrap.build_runtime")
        return self.job_queue(self)

    @cached_property
    def search_index(self) -> SearchIndex:
        s = self.settings.search
        if s.backend == "postgres":
            if self.db.is_sqlite:
                raise ConfigError("search.backend: 'postgres' needs database.url to point at PostgreSQL")
            from search.postgres_index import PostgresIndex
            index = PostgresIndex(self.db.engine)
            index.ensure_schema()
            return index
        from search.whoosh_index import WhooshIndex
        return WhooshIndex(Path(s.path) if s.path else self.settings.data_dir / "index")

    @cached_property
    def registry(self) -> Registry:
        registry = load_registry(self.settings.case_types)
        # The roles the confidentiality levels name come with the case types (head_of_unit: the invoice type).
        check_confidentiality(self.settings.confidentiality, registry.roles)
        return registry

    @property
    def tmp_dir(self) -> Path:
        path = self.settings.data_dir / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def close(self) -> None:
        if "extractor" in self.__dict__:
            self.extractor.close()
        if "search_index" in self.__dict__:
            self.search_index.close()
        if "db" in self.__dict__:
            self.db.dispose()
