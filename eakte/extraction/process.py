"""Parent-side handle of one sandboxed worker process."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Final

from eakte.extraction import protocol

# Directory that contains the ``eakte`` package, so the worker imports the
# same code as the parent whether or not the project is installed.
_PACKAGE_ROOT: Final = str(Path(__file__).resolve().parents[2])
_READ_CHUNK: Final = 1 << 16
_REAP_TIMEOUT_S: Final = 5.0


class WorkerError(Exception):
    """A worker could not deliver a response; the worker is gone afterwards."""


class WorkerStartError(WorkerError):
    pass


class WorkerTimeout(WorkerError):
    pass


class WorkerDied(WorkerError):
    def __init__(self, message: str, *, request_sent: bool) -> None:
        super().__init__(message)
        # False: the worker was already dead before it saw the request, so
        # retrying on a fresh worker cannot repeat whatever killed it.
        self.request_sent = request_sent


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    existing = env.get("PYTHONPATH")
    env["PYTHONPATH"] = _PACKAGE_ROOT + (os.pathsep + existing if existing else "")
    # glibc reserves 64 MB of address space per extra malloc arena, which
    # RLIMIT_AS charges in full; the parent-watch thread would get one for
    # nothing. One shared arena: the worker does its work on a single thread.
    env["MALLOC_ARENA_MAX"] = "1"
    return env


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "worker stopped responding"
    if returncode >= 0:
        return f"worker exited unexpectedly (exit code {returncode})"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    if name == "SIGXCPU":
        return "CPU time limit exceeded"
    if name == "SIGKILL":
        return "worker was killed (SIGKILL), possibly by the out-of-memory killer"
    return f"worker crashed ({name})"


class WorkerProcess:
    """One running ``python -m eakte.extraction.worker``.

    Not thread-safe: the pool hands each worker to one thread at a time
    (its owner). Only :meth:`kill` may be called from any other thread.
    """

    def __init__(self, *, memory_mb: int, startup_timeout_s: float) -> None:
        command = [
            sys.executable,
            "-P",  # do not put the current directory on the worker's sys.path
            "-m",
            "eakte.extraction.worker",
            "--memory-mb",
            str(memory_mb),
            "--parent-pid",
            str(os.getpid()),
        ]
        self._proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_worker_env(),
            close_fds=True,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._stdin: IO[bytes] = self._proc.stdin
        self._stdout_fd = self._proc.stdout.fileno()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._stdout_fd, selectors.EVENT_READ)
        self._buffer = bytearray()
        self._kill_lock = threading.Lock()
        self.served = 0
        try:
            hello = self._read_message(time.monotonic() + startup_timeout_s, request_sent=False)
        except WorkerTimeout:
            self.discard()
            raise WorkerStartError(f"worker did not start within {startup_timeout_s:g} s") from None
        except WorkerDied as exc:
            raise WorkerStartError(f"worker failed to start: {exc}") from None
        if not hello.get("ready"):
            self.discard()
            raise WorkerStartError(f"unexpected first message from worker: {hello!r}")

    @property
    def pid(self) -> int:
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc.poll() is None

    def exit_reason(self) -> str:
        return describe_exit(self._proc.poll())

    def request(self, message: protocol.Request, timeout_s: float) -> dict[str, Any]:
        """Send one request and wait for its response; on any failure the worker is killed."""
        try:
            self._stdin.write(protocol.encode(message))
            self._stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            raise WorkerDied(self._reap_and_describe(), request_sent=False) from None
        self.served += 1
        try:
            response = self._read_message(time.monotonic() + timeout_s, request_sent=True)
        except WorkerTimeout:
            self.discard()
            raise WorkerTimeout(f"timeout after {timeout_s:g} s") from None
        if response.get("id") != message["id"]:
            self.discard()
            raise WorkerDied(f"protocol error: response for {response.get('id')!r}", request_sent=True)
        if response.get("fatal"):
            self.close()
        return response

    def _read_message(self, deadline: float, *, request_sent: bool) -> dict[str, Any]:
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                return protocol.decode(line)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerTimeout
            if not self._selector.select(remaining):
                continue
            try:
                chunk = os.read(self._stdout_fd, _READ_CHUNK)
            except OSError:
                chunk = b""
            if not chunk:
                raise WorkerDied(self._reap_and_describe(), request_sent=request_sent)
            self._buffer += chunk

    def _reap_and_describe(self) -> str:
        # EOF on stdout almost always means the process is exiting; give it
        # a moment to do so, then make sure it is gone either way.
        try:
            self._proc.wait(timeout=_REAP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.discard()
            return describe_exit(None)
        returncode = self._proc.returncode
        self.discard()
        return describe_exit(returncode)

    def kill(self) -> None:
        """SIGKILL and reap the worker; safe to call from any thread, idempotent.

        Pipes are left to the thread using the worker (it sees EOF and
        cleans up via :meth:`discard`), so no fd is closed under its feet.
        """
        with self._kill_lock:
            if self._proc.poll() is None:
                self._proc.kill()
        self._proc.wait()

    def discard(self) -> None:
        """Kill, reap and release the pipes: only by the thread that owns the worker."""
        self.kill()
        self._release()

    def close(self, grace_s: float = 2.0) -> None:
        """Ask the worker to exit (EOF on its stdin), kill it if it does not; owner only."""
        try:
            self._stdin.close()
        except OSError:
            pass
        try:
            self._proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
        self.discard()

    def _release(self) -> None:
        for stream in (self._proc.stdin, self._proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            self._selector.close()
        except (OSError, ValueError, KeyError):
            pass
