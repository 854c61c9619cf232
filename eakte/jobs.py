"""Background work through Huey: an SQLite queue in the data directory by default, Redis for several machines.
Services enqueue; jobs call services. Queued jobs survive a restart (the queue is on disk or in Redis)."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer

from eakte.clock import utcnow

if TYPE_CHECKING:
    from eakte.runtime import Runtime

log = logging.getLogger(__name__)


class Jobs:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        s = rt.settings.jobs
        self.huey = _make_huey(rt)
        retry = {"retries": s.retries, "retry_delay": s.retry_delay_s}
        self.extract_text = self.huey.task(name="extract_text", **retry)(self._extract_text)
        self.run_hooks = self.huey.task(name="run_hooks", **retry)(self._run_hooks)
        self.drain_search_outbox = self.huey.task(name="drain_search_outbox", **retry)(self._drain)
        self.periodic = self.huey.periodic_task(crontab(minute="*"), name="periodic")(self._periodic)

    # Job bodies: thin, everything real lives in services.

    def _extract_text(self, version_id: int) -> str:
        from eakte.services import extraction
        return extraction.extract_version(self.rt, version_id)

    def _run_hooks(self, case_id: int, step: str) -> None:
        from eakte.services import workflow
        workflow.run_enter_hooks(self.rt, case_id, step)

    def _drain(self) -> int:
        from eakte.services import indexing
        return indexing.drain(self.rt)

    def _periodic(self) -> dict[str, int]:
        from eakte.services import extraction, indexing, workflow
        escalated = workflow.escalate_overdue(self.rt, utcnow())
        requeued = extraction.requeue_stale(self.rt)
        indexed = indexing.drain(self.rt)  # picks up what a lost drain job left behind
        return {"escalated": escalated, "requeued": requeued, "indexed": indexed}

    def consumer(self, workers: int | None = None) -> Consumer:
        return _QuietConsumer(self.huey, workers=workers or self.rt.settings.jobs.workers, worker_type="thread",
                              periodic=True, initial_delay=0.05, max_delay=1.0)


def _make_huey(rt: Runtime) -> Huey:
    s = rt.settings.jobs
    if s.backend == "immediate":
        return MemoryHuey(s.queue_name, immediate=True)
    if s.backend == "redis":
        return RedisHuey(s.queue_name, url=s.redis_url)
    rt.settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(s.queue_name, filename=str(rt.settings.data_dir / "jobs.db"))


class _QuietConsumer(Consumer):
    """A consumer that runs beside a web server: the server, not Huey, owns the process's signal handlers."""

    def _set_signal_handlers(self) -> None:
        pass

    def stop_and_wait(self, timeout: float = 10.0) -> None:
        self.stop(graceful=False)
        for _, worker in self.worker_threads:
            worker.join(timeout)
        self.scheduler.join(timeout)


