"""TextExtractor: the public, thread-safe entry point to sandboxed extraction."""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import tempfile
import threading
import weakref
from types import TracebackType
from typing import Final

from eakte.extraction import testhooks
from eakte.extraction.formats import SUPPORTED_MIME_TYPES
from eakte.extraction.process import WorkerDied, WorkerError, WorkerProcess
from eakte.extraction.protocol import Request
from eakte.extraction.result import STATUSES, ExtractionResult

_log = logging.getLogger(__name__)

_STARTUP_TIMEOUT_S: Final = 60.0


class _Slot:
    """One pool place: owns at most one worker process at a time.

    Exactly one thread uses a slot at a time (it is checked out of the
    pool); only :meth:`shutdown` may come from another thread.
    """

    def __init__(self, index: int, memory_mb: int, max_requests: int) -> None:
        self.index = index
        self._memory_mb = memory_mb
        self._max_requests = max_requests
        self._worker: WorkerProcess | None = None
        self._lock = threading.Lock()  # guards _worker against shutdown()
        self._closed = False

    def worker(self) -> WorkerProcess:
        with self._lock:
            if self._closed:
                raise RuntimeError("TextExtractor is closed")
            current = self._worker
        if current is not None and current.alive() and current.served < self._max_requests:
            return current
        if current is not None:
            if not current.alive():
                _log.warning("text extraction worker %d had died while idle: %s", current.pid, current.exit_reason())
            # Otherwise recycled after max_requests to bound slow leaks in the parsers.
            current.close()
        fresh = WorkerProcess(memory_mb=self._memory_mb, startup_timeout_s=_STARTUP_TIMEOUT_S)
        with self._lock:
            if self._closed:
                fresh.close()
                raise RuntimeError("TextExtractor is closed")
            self._worker = fresh
        return fresh

    def pid(self) -> int | None:
        with self._lock:
            worker = self._worker
        return worker.pid if worker is not None and worker.alive() else None

    def forget(self, worker: WorkerProcess) -> None:
        worker.discard()
        with self._lock:
            if self._worker is worker:
                self._worker = None

    def shutdown(self, *, in_use: bool) -> None:
        with self._lock:
            self._closed = True
            worker, self._worker = self._worker, None
        if worker is None:
            return
        if in_use:
            worker.kill()  # its owner sees EOF and releases the pipes
        else:
            worker.close(grace_s=1.0)


class _Pool:
    """Hands out slots exclusively; most recently used first (its worker is warm)."""

    def __init__(self, slots: list[_Slot]) -> None:
        self.slots = slots
        self._free = list(slots)
        self._cond = threading.Condition()

    def acquire(self) -> _Slot:
        with self._cond:
            while not self._free:
                self._cond.wait()
            return self._free.pop()

    def try_acquire(self, slot: _Slot) -> bool:
        with self._cond:
            if slot in self._free:
                self._free.remove(slot)
                return True
            return False

    def release(self, slot: _Slot) -> None:
        with self._cond:
            self._free.append(slot)
            self._cond.notify()

    def free_snapshot(self) -> list[_Slot]:
        with self._cond:
            return list(self._free)


def _shutdown_pool(pool: _Pool, tmpdir: str) -> None:
    # Module-level and free of references to the TextExtractor, so it can
    # serve as weakref finalizer and run at interpreter exit. Slots that are
    # checked out get their worker killed; their threads see a failure (or
    # RuntimeError on their next call) and return the slot themselves.
    free = pool.free_snapshot()
    for slot in pool.slots:
        slot.shutdown(in_use=slot not in free)
    shutil.rmtree(tmpdir, ignore_errors=True)


def _prestart(pool: _Pool) -> None:
    # Runs in a background thread: the ~0.2 s interpreter and pypdf start-up
    # overlaps with whatever the caller does before its first extract().
    # A slot already checked out is skipped: its user starts it anyway.
    for slot in pool.slots:
        if not pool.try_acquire(slot):
            continue
        try:
            slot.worker()
        except RuntimeError:
            pass  # closed meanwhile
        except WorkerError as exc:
            _log.error("text extraction worker did not start: %s", exc)
        finally:
            pool.release(slot)


class TextExtractor:
    """Extract searchable text from documents in sandboxed worker processes.

    Each worker is a separate Python process with an address-space limit of
    ``memory_mb`` (the whole interpreter counts: ~60 MB of it at rest) and
    every request gets ``timeout_s`` of wall-clock time; a worker that
    overruns either is killed and replaced, and the request comes back as
    ``failed``. ``workers`` processes serve concurrent callers; each request
    holds one worker exclusively. Workers are started in the background at
    construction (``prestart``; otherwise on first use), reused, and
    recycled after ``max_requests_per_worker`` documents.

    :meth:`extract` never raises for problems with the document itself; it
    raises ``RuntimeError`` only when used after :meth:`close`.
    """

    def __init__(
        self,
        timeout_s: float = 30,
        memory_mb: int = 512,
        max_chars: int = 5_000_000,
        *,
        workers: int = 1,
        max_requests_per_worker: int = 500,
        max_zip_bytes: int = 256 * 1024 * 1024,
        prestart: bool = True,
    ) -> None:
        if timeout_s <= 0 or memory_mb <= 0 or max_chars < 0 or workers < 1 or max_requests_per_worker < 1:
            raise ValueError("invalid TextExtractor limits")
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.max_chars = max_chars
        self.max_zip_bytes = max_zip_bytes
        self._tmpdir = tempfile.mkdtemp(prefix="eakte-extract-")
        self._ids = itertools.count(1)
        self._closed = False
        self._pool = _Pool([_Slot(i, memory_mb, max_requests_per_worker) for i in range(workers)])
        self._finalizer = weakref.finalize(self, _shutdown_pool, self._pool, self._tmpdir)
        if prestart:
            threading.Thread(target=_prestart, args=(self._pool,), name="eakte-extract-prestart", daemon=True).start()

    def extract(self, path: str | os.PathLike[str], mime: str) -> ExtractionResult:
        """Extract the text of the file at ``path`` whose (detected) type is ``mime``."""
        if self._closed:
            raise RuntimeError("TextExtractor is closed")
        mime = mime.split(";", 1)[0].strip().lower()
        if mime not in SUPPORTED_MIME_TYPES and not testhooks.is_hook(mime):
            return ExtractionResult(status="unsupported")
        slot = self._pool.acquire()
        try:
            return self._run(slot, os.path.abspath(path), mime)
        finally:
            self._pool.release(slot)

    def _run(self, slot: _Slot, path: str, mime: str) -> ExtractionResult:
        request_id = next(self._ids)
        request: Request = {
            "id": request_id,
            "path": path,
            "mime": mime,
            "max_chars": self.max_chars,
            "max_zip_bytes": self.max_zip_bytes,
            "cpu_s": int(self.timeout_s) + 1,
            "text_file": os.path.join(self._tmpdir, f"{slot.index}-{request_id}.txt"),
        }
        try:
            # Second attempt only if the worker was found dead before it got
            # the request (e.g. killed while idle); never re-run a document
            # that may itself have killed the worker.
            for attempt in (1, 2):
                worker = slot.worker()
                try:
                    response = worker.request(request, self.timeout_s)
                except WorkerDied as exc:
                    slot.forget(worker)
                    if exc.request_sent or attempt == 2:
                        return self._failure(str(exc), path)
                    continue
                except WorkerError as exc:
                    slot.forget(worker)
                    return self._failure(str(exc), path)
                if not worker.alive():  # retired itself after a fatal error (MemoryError)
                    slot.forget(worker)
                return self._result(response, path, request["text_file"])
            raise AssertionError("unreachable")  # pragma: no cover
        except WorkerError as exc:  # could not (re)start a worker
            _log.error("text extraction worker unavailable: %s", exc)
            return ExtractionResult.failed(str(exc))
        finally:
            _unlink_quietly(request["text_file"])

    def _failure(self, error: str, path: str) -> ExtractionResult:
        _log.warning("text extraction failed for %s: %s", path, error)
        return ExtractionResult.failed(error)

    def _result(self, response: dict[str, object], path: str, text_file: str) -> ExtractionResult:
        status = str(response.get("status"))
        if status not in STATUSES:
            return self._failure(f"protocol error: unknown status {status!r}", path)
        if status == "failed":
            return self._failure(str(response.get("error") or "extraction failed"), path)
        text = response.get("text")
        # Only ever read the file we named in the request, whatever the reply says.
        if response.get("text_file"):
            try:
                with open(text_file, encoding="utf-8") as fh:
                    text = fh.read()
            except OSError as exc:
                return ExtractionResult.failed(f"could not read extracted text: {exc}")
        return ExtractionResult(
            status=status,  # type: ignore[arg-type]
            text=text if isinstance(text, str) else "",
            truncated=bool(response.get("truncated")),
        )

    def worker_pids(self) -> list[int]:
        """PIDs of the currently running workers (for monitoring and tests)."""
        return [pid for slot in self._pool.slots if (pid := slot.pid()) is not None]

    def close(self) -> None:
        """Stop all workers and remove temp files. Idempotent."""
        self._closed = True
        self._finalizer()

    def __enter__(self) -> TextExtractor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        _log.warning("could not remove extraction temp file %s: %s", path, exc)
