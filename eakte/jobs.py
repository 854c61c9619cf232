"""Background work through Huey: an SQLite queue in the data directory by default, Redis for several machines.
Services enqueue through `eakte.runtime.JobQueue`, which `Jobs` implements; jobs call services. So this module
sits above the services and nothing below imports it. Queued jobs survive a restart (on disk or in Redis)."""
from __future__ import annotations

import datetime as dt
import logging
import time
import uuid

from huey import Huey, MemoryHuey, RedisHuey, crontab
from huey.api import Task
from huey.storage import SqliteStorage
from huey.consumer import Consumer

from eakte.clock import utcnow
from eakte.coalesce import Coalescer
from eakte.errors import ConfigError
from eakte.runtime import QueueInfo, Runtime
from eakte.services import audit_anchor, cases, extraction, followups, indexing, verification, workflow
from eakte.services.trade import extracts, outbox

log = logging.getLogger(__name__)

# An idle consumer thread polls the queue at most this far apart (huey backs off from 10 ms): the latency of a job
# enqueued into an idle queue, against a cheap `select 1` per poll.
IDLE_POLL_MAX_S = 0.2
DRAIN_PRIORITY = 10  # extraction and hooks run at the default priority, 0
TAIL_DRAIN_S = 0.25  # a burst's tail is indexed at most this long after the last drain
DRAIN_DUTY = 4.0  # the interval between drains of a burst is at least this many times the last drain's duration


class Jobs:
    """The Huey-backed `eakte.runtime.JobQueue`: `extract_text`, `run_hooks`, `drain_search_outbox` and
    `run_verification` enqueue; `queue_info` counts what waits."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        s = rt.settings.jobs
        self.huey = _make_huey(rt)
        retry = {"retries": s.retries, "retry_delay": s.retry_delay_s, "task_base": _StampedTask}
        self.extract_text = self.huey.task(name="extract_text", **retry)(self._extract_text)
        self.run_hooks = self.huey.task(name="run_hooks", **retry)(self._run_hooks)
        # No retries: a check that fails records that as its result (verification.run), a retry would hide it.
        self.run_verification = self.huey.task(name="run_verification", task_base=_StampedTask)(self._verify)
        # Ahead of the queue (the embedded SQLite queue honours priorities): behind a thousand queued extractions
        # a drain would only run once they are all done, and then index the whole burst at the end.
        # (Huey's plain Redis queue has no priorities: there the drain waits its turn.)
        priority = {} if isinstance(self.huey, RedisHuey) else {"priority": DRAIN_PRIORITY}
        drain = self.huey.task(name="drain_search_outbox", **priority, **retry)(self._drain)
        # A drain job per commit would commit the index once per document, which costs five times the indexing of
        # that document (whoosh writes and merges a segment per commit): a burst of commits enqueues one drain now
        # and one at the end of each interval, each taking everything written meanwhile.
        self.drain_search_outbox = drain if self.huey.immediate else Coalescer(
            drain, rt.settings.search.drain_interval_s, "search-outbox-drain")
        self.periodic = self.huey.periodic_task(crontab(minute="*"), name="periodic")(self._periodic)
        self.audit_checkpoint = self.huey.periodic_task(crontab(minute="0"), name="audit_checkpoint")(
            self._audit_checkpoint)

    # Job bodies: thin, everything real lives in services.

    def _extract_text(self, version_id: int) -> str:
        status = extraction.extract_version(self.rt, version_id)
        if isinstance(self.drain_search_outbox, Coalescer) and self.huey.pending_count() == 0:
            # The burst is over: index its tail soon rather than after the stretched interval, which only exists
            # to keep drains from crowding out extraction while more is coming. Not at once: under a steady
            # stream of single uploads the queue is empty after each one, and a drain per document (a whoosh
            # commit each) took half the consumer's time and slowed the uploads themselves.
            self.drain_search_outbox.hurry(TAIL_DRAIN_S)
        return status

    def _run_hooks(self, case_id: int, step: str) -> None:
        workflow.run_enter_hooks(self.rt, case_id, step)

    def _verify(self, kind: str, run_id: int) -> bool | None:
        return verification.run(self.rt, kind, run_id)

    def queue_info(self) -> QueueInfo | None:
        if self.huey.immediate:
            return None
        # pending(1) is the next job to be dequeued, the oldest of a first-in-first-out queue; reading one
        # keeps this cheap however long the queue has grown.
        first = self.huey.pending(1)
        return QueueInfo(self.huey.pending_count(), first[0].name if first else None,
                         _StampedTask.enqueued_at(first[0].id) if first else None)

    def _drain(self) -> int:
        started = time.monotonic()
        applied = indexing.drain(self.rt)
        if applied and isinstance(self.drain_search_outbox, Coalescer):
            # The longer a drain takes (a large index, a busy machine), the more the next one should take at once:
            # index at most about 1/DRAIN_DUTY of the time, whatever the load.
            self.drain_search_outbox.stretch(DRAIN_DUTY * (time.monotonic() - started))
        return applied

    def _periodic(self) -> dict[str, int]:
        escalated = workflow.escalate_overdue(self.rt, utcnow())
        released = workflow.release_stale_claims(self.rt)  # claims of deputies whose appointment has ended
        requeued = extraction.requeue_stale(self.rt)
        indexed = indexing.drain(self.rt)  # picks up what a lost drain job left behind
        # Follow-ups need no moving (the Postkorb reads their date from the clock); reported for the log.
        due = followups.count_became_due(self.rt)
        closed = cases.close_due(self.rt)  # files whose leaving date (given in advance) has come
        return {"escalated": escalated, "released": released, "requeued": requeued, "indexed": indexed,
                "followups_due": due, "closed": closed,
                "retrievals_purged": extracts.purge_retrievals(self.rt, utcnow()),  # GewO §14(10)
                "transmissions_sent": outbox.send_due(self.rt, utcnow()).sent}  # GewAnzV §3

    def _audit_checkpoint(self) -> bool:
        # Hourly, not with `periodic`: a checkpoint only needs to bound how much of the tail could go unnoticed,
        # and each one is a record kept (under Object Lock) for the retention period.
        return audit_anchor.take_checkpoint(self.rt) is not None

    def consumer(self, workers: int | None = None, *, periodic: bool = True) -> Consumer:
        return _QuietConsumer(self.huey, workers=workers or self.rt.settings.jobs.workers, worker_type="thread",
                              periodic=periodic, initial_delay=0.01, max_delay=IDLE_POLL_MAX_S)


def jobs_of(rt: Runtime) -> Jobs:
    """The runtime's queue as `Jobs`, for what only Huey can do: run a consumer, count what is queued."""
    if not isinstance(rt.jobs, Jobs):
        raise ConfigError("the runtime's job queue is not eakte's Huey queue")
    return rt.jobs


def _make_huey(rt: Runtime) -> Huey:
    s = rt.settings.jobs
    # results=False: nobody reads a job's return value, and storing it costs a queue write per job (in memory, for
    # the immediate backend, a leak).
    if s.backend == "immediate":
        return MemoryHuey(s.queue_name, immediate=True, results=False)
    if s.backend == "redis":
        return RedisHuey(s.queue_name, url=s.redis_url, results=False)
    rt.settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Huey(s.queue_name, storage_class=_SqliteQueue, filename=str(rt.settings.data_dir / "jobs.db"),
                results=False)


class _StampedTask(Task):
    """A task whose id starts with its enqueue time (huey keeps no such time), so the status page can say how
    long the oldest job has waited. Periodic tasks keep huey's plain ids: they run when due, never wait long."""

    _FORMAT = "%Y%m%dT%H%M%S%f"

    def create_id(self) -> str:
        return f"{utcnow():{self._FORMAT}}-{uuid.uuid4()}"

    @classmethod
    def enqueued_at(cls, task_id: str) -> dt.datetime | None:
        try:
            return dt.datetime.strptime(task_id.split("-", 1)[0], cls._FORMAT)
        except ValueError:
            return None


class _SqliteQueue(SqliteStorage):
    """huey's SQLite queue with synchronous=NORMAL (huey offers FULL or OFF): in WAL mode a commit then survives a
    crash of the process without an fsync per enqueue and dequeue; what a power cut loses is caught up anyway
    (`extraction.requeue_stale`, the periodic drain of the search outbox)."""

    def _create_connection(self):  # type: ignore[no-untyped-def]
        conn = super()._create_connection()
        conn.execute("pragma synchronous=1")
        return conn


class _QuietConsumer(Consumer):
    """A consumer that runs beside a web server: the server, not Huey, owns the process's signal handlers."""

    def _set_signal_handlers(self) -> None:
        pass

    def stop_and_wait(self, timeout: float = 10.0) -> None:
        self.stop(graceful=False)
        for _, worker in self.worker_threads:
            worker.join(timeout)
        self.scheduler.join(timeout)


