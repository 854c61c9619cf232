"""The sandboxed extraction worker: ``python -m eakte.extraction.worker``.

Started and owned by :class:`eakte.extraction.process.WorkerProcess`. It
limits its own address space (RLIMIT_AS) before importing any parser, then
serves requests of the line protocol in :mod:`eakte.extraction.protocol` on
stdin/stdout until stdin reaches EOF, i.e. until the parent closes the pipe
or dies. Hangs are the parent's business (it kills us on its wall-clock
timeout); RLIMIT_CPU is only a backstop for a CPU-bound loop that outlives
its parent.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

from eakte.extraction import protocol, testhooks
from eakte.extraction.result import ExtractionResult
from eakte.extraction.sink import TextLimitReached, TextSink

_log = logging.getLogger("eakte.extraction.worker")

_PARENT_POLL_S = 1.0
# Extra CPU seconds over the request's budget before SIGXCPU; the parent's
# wall-clock timeout normally fires long before.
_CPU_SLACK_S = 5
# Parser messages can quote whole objects; the error ends up in a DB column.
_MAX_ERROR_CHARS = 500


def _apply_limits(memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    # soft == hard: the sandboxed code cannot raise its own limit again.
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # No multi-hundred-MB core files when a parser crashes or hits RLIMIT_CPU.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _set_cpu_budget(seconds: int) -> None:
    # RLIMIT_CPU counts the whole life of the process, and the worker lives
    # for many requests: move the soft limit forward for each one.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = used + seconds + _CPU_SLACK_S
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _watch_parent(parent_pid: int) -> None:
    # EOF on stdin only reaches us between requests; if the parent dies while
    # we are stuck inside a parser, this notices the re-parenting and exits.
    while True:
        time.sleep(_PARENT_POLL_S)
        if os.getppid() != parent_pid:
            os._exit(0)


def _start_parent_watch(parent_pid: int) -> None:
    threading.stack_size(256 * 1024)  # keep the thread's share of RLIMIT_AS small
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watch", daemon=True).start()


def _protocol_channel() -> tuple[BinaryIO, BinaryIO]:
    """Keep the real stdout for the protocol; point fd 1 at stderr.

    A library that prints (or C code writing to fd 1) would otherwise
    corrupt the protocol stream.
    """
    proto_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return sys.stdin.buffer, proto_out


def _extract(path: str, mime: str, max_chars: int, max_zip_bytes: int) -> tuple[ExtractionResult, str]:
    from eakte.extraction.formats import ExtractOptions, get_extractor

    if testhooks.is_hook(mime) and testhooks.enabled():
        testhooks.run(mime)
    extractor = get_extractor(mime)
    if extractor is None:
        return ExtractionResult(status="unsupported"), ""
    sink = TextSink(max_chars)
    try:
        status = extractor(Path(path), sink, ExtractOptions(max_zip_bytes=max_zip_bytes))
    except TextLimitReached:
        status = "done"  # an extractor that did not catch it itself
    text = sink.text() if status == "done" else ""
    return ExtractionResult(status=status, truncated=sink.truncated), text


def _handle(request: dict[str, Any], memory_mb: int) -> protocol.Response:
    request_id = int(request["id"])
    response: protocol.Response = {
        "id": request_id,
        "status": "failed",
        "error": None,
        "truncated": False,
        "text": None,
        "text_file": None,
        "fatal": False,
    }
    try:
        _set_cpu_budget(int(request["cpu_s"]))
        result, text = _extract(
            str(request["path"]),
            str(request["mime"]),
            int(request["max_chars"]),
            int(request["max_zip_bytes"]),
        )
        response["status"] = result.status
        response["truncated"] = result.truncated
        _attach_text(response, text, str(request["text_file"]))
    except MemoryError:
        # Unwinding has freed the big allocations, so replying still works;
        # the heap may be fragmented or a library half-initialised: retire.
        response["error"] = f"memory limit exceeded ({memory_mb} MB)"
        response["fatal"] = True
    except Exception as exc:
        detail = str(exc)[:_MAX_ERROR_CHARS]
        response["error"] = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return response


def _attach_text(response: protocol.Response, text: str, text_file: str) -> None:
    # errors="replace" drops lone surrogates some PDFs yield; they would
    # break every consumer downstream (JSON, PostgreSQL, the index).
    data = text.encode("utf-8", "replace")
    if len(data) <= protocol.INLINE_MAX_BYTES:
        response["text"] = data.decode("utf-8")
        return
    fd = os.open(text_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    response["text_file"] = text_file


def _send(replies: BinaryIO, message: protocol.Response | dict[str, object]) -> None:
    replies.write(protocol.encode(message))
    replies.flush()


def serve(memory_mb: int, parent_pid: int) -> int:
    _apply_limits(memory_mb)
    # Ctrl-C in a terminal signals the whole process group; shutting the
    # worker down is the parent's decision.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests, replies = _protocol_channel()
    _start_parent_watch(parent_pid)

    from eakte.extraction.formats import preload

    preload()  # pay the import cost before "ready", not in the first request's timeout
    _send(replies, {"ready": True, "pid": os.getpid()})
    while line := requests.readline():
        response = _handle(protocol.decode(line), memory_mb)
        _send(replies, response)
        if response["fatal"]:
            return 0
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="eakte sandboxed text extraction worker")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--parent-pid", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    return serve(args.memory_mb, args.parent_pid)


if __name__ == "__main__":
    code = main()
    # Nothing to clean up (replies are flushed, text files closed); skipping
    # interpreter finalisation makes retiring a worker ~30 ms cheaper.
    sys.stderr.flush()
    os._exit(code)
