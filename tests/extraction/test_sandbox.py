"""The sandbox contains hangs, memory hogs, crashes and bombs, and recovers."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import psutil
import pytest

from eakte import filetypes as ft
from eakte.extraction import TextExtractor

from . import samples as s

SLEEP = "application/x-eakte-test-sleep"
SPIN = "application/x-eakte-test-spin"
HOG = "application/x-eakte-test-hog"
CRASH = "application/x-eakte-test-crash"
REPO_ROOT = Path(__file__).resolve().parents[2]


def assert_works(ex: TextExtractor, sample_dir: Path) -> None:
    result = ex.extract(sample_dir / "brief.pdf", ft.PDF)
    assert result.status == "done" and s.GERMAN in result.text


def test_hang_times_out_and_next_request_works(hooked_extractor: TextExtractor, sample_dir: Path) -> None:
    assert_works(hooked_extractor, sample_dir)
    (old_pid,) = hooked_extractor.worker_pids()
    started = time.monotonic()
    result = hooked_extractor.extract(sample_dir / "brief.pdf", SLEEP)
    elapsed = time.monotonic() - started
    assert result.status == "failed"
    assert result.error == "timeout after 2 s"
    assert 1.9 < elapsed < 6
    assert not psutil.pid_exists(old_pid) or psutil.Process(old_pid).status() == psutil.STATUS_ZOMBIE
    assert_works(hooked_extractor, sample_dir)
    assert hooked_extractor.worker_pids() != [old_pid]


def test_cpu_spin_times_out(hooked_extractor: TextExtractor, sample_dir: Path) -> None:
    result = hooked_extractor.extract(sample_dir / "brief.pdf", SPIN)
    assert (result.status, result.error) == ("failed", "timeout after 2 s")
    assert_works(hooked_extractor, sample_dir)


def test_memory_hog_hits_limit_and_next_request_works(hooked_extractor: TextExtractor, sample_dir: Path) -> None:
    result = hooked_extractor.extract(sample_dir / "brief.pdf", HOG)
    assert result.status == "failed"
    assert result.error == "memory limit exceeded (256 MB)"
    assert_works(hooked_extractor, sample_dir)


def test_crash_is_reported_and_next_request_works(hooked_extractor: TextExtractor, sample_dir: Path) -> None:
    result = hooked_extractor.extract(sample_dir / "brief.pdf", CRASH)
    assert result.status == "failed"
    assert "SIGABRT" in (result.error or "")
    assert_works(hooked_extractor, sample_dir)


def test_hooks_are_inert_without_the_env_var(
    extractor: TextExtractor, sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EAKTE_EXTRACTION_TEST_HOOKS", raising=False)
    result = extractor.extract(sample_dir / "brief.pdf", SLEEP)
    assert result.status == "unsupported"


def test_worker_killed_while_idle_is_replaced_transparently(extractor: TextExtractor, sample_dir: Path) -> None:
    assert_works(extractor, sample_dir)
    for pid in extractor.worker_pids():
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    assert_works(extractor, sample_dir)


def test_worker_is_recycled_after_max_requests(sample_dir: Path) -> None:
    with TextExtractor(max_requests_per_worker=3) as ex:
        pids = []
        for _ in range(7):
            assert_works(ex, sample_dir)
            pids.extend(ex.worker_pids())
        assert len(set(pids)) == 3  # requests 1-3, 4-6, 7
        for retired in set(pids) - set(ex.worker_pids()):
            assert _wait_gone(retired, within=3)


def _bomb_docx(path: Path, *, inflated_bytes: int, unit: str) -> Path:
    members = {name: str(data) for name, data in s.docx_members([s.GERMAN])}
    head = members["word/document.xml"].split("<w:body>")[0] + "<w:body>"
    tail = "</w:body></w:document>"
    unit_bytes = unit.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            if name != "word/document.xml":
                zf.writestr(name, data)
        with zf.open("word/document.xml", "w", force_zip64=True) as fh:
            fh.write(head.encode())
            block = unit_bytes * ((1 << 20) // len(unit_bytes))
            for _ in range(inflated_bytes // len(block)):
                fh.write(block)
            fh.write(tail.encode())
    return path


def test_zip_bomb_beyond_budget_fails_fast(tmp_path: Path) -> None:
    bomb = _bomb_docx(tmp_path / "bombe.docx", inflated_bytes=300 << 20, unit="<w:p/>")
    assert bomb.stat().st_size < 2 << 20
    with TextExtractor(memory_mb=256, prestart=False) as ex:
        started = time.monotonic()
        result = ex.extract(bomb, ft.DOCX)
        assert time.monotonic() - started < 5
        assert result.status == "failed"
        assert "exceeds" in (result.error or "")


def test_text_bomb_within_budget_is_truncated(tmp_path: Path) -> None:
    bomb = _bomb_docx(tmp_path / "textbombe.docx", inflated_bytes=64 << 20, unit="<w:p><w:r><w:t>Bombe</w:t></w:r></w:p>")
    with TextExtractor(memory_mb=256, max_chars=200_000, prestart=False) as ex:
        result = ex.extract(bomb, ft.DOCX)
    assert result.status == "done"
    assert result.truncated
    assert len(result.text) == 200_000
    assert result.text.startswith("Bombe\n")


def test_concurrent_extraction_from_four_threads(sample_dir: Path, tmp_path: Path) -> None:
    docs = []
    for i in range(12):
        marker = f"Aktenzeichen-{i:04d}"
        docs.append((s.make_pdf(tmp_path / f"d{i}.pdf", [f"{marker} {s.GERMAN}"]), marker))
    errors: list[str] = []
    seen_pids: set[int] = set()
    barrier = threading.Barrier(4)

    def work(offset: int) -> None:
        barrier.wait()
        for n in range(30):
            path, marker = docs[(n * 7 + offset) % len(docs)]
            result = ex.extract(path, ft.PDF)
            seen_pids.update(ex.worker_pids())
            # Each answer must belong to its own request, never a neighbour's.
            if result.status != "done" or marker not in result.text or result.text.count("Aktenzeichen-") != 1:
                errors.append(f"{marker}: {result}")

    with TextExtractor(workers=2) as ex:
        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert len(seen_pids) >= 2  # both workers served


def test_timeout_in_one_thread_does_not_disturb_others(
    monkeypatch: pytest.MonkeyPatch, sample_dir: Path
) -> None:
    monkeypatch.setenv("EAKTE_EXTRACTION_TEST_HOOKS", "1")
    with TextExtractor(timeout_s=2, workers=2) as ex:
        outcome: dict[str, object] = {}
        hang = threading.Thread(target=lambda: outcome.setdefault("hang", ex.extract(sample_dir / "brief.pdf", SLEEP)))
        hang.start()
        time.sleep(0.3)
        for _ in range(5):
            assert_works(ex, sample_dir)
        hang.join()
        assert outcome["hang"].status == "failed"  # type: ignore[attr-defined]


def test_close_stops_workers_and_rejects_use(sample_dir: Path) -> None:
    ex = TextExtractor(workers=2)
    assert_works(ex, sample_dir)
    procs = [psutil.Process(pid) for pid in ex.worker_pids()]
    tmpdir = Path(ex._tmpdir)
    ex.close()
    ex.close()  # idempotent
    for proc in procs:
        assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    assert not tmpdir.exists()
    with pytest.raises(RuntimeError):
        ex.extract(sample_dir / "brief.pdf", ft.PDF)


def _run_parent(script: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), EAKTE_EXTRACTION_TEST_HOOKS="1")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, env=env, timeout=timeout
    )


def _wait_gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.05)
    return False


def test_no_worker_left_behind_at_interpreter_exit(sample_dir: Path) -> None:
    # The extractor is neither closed nor garbage collected: atexit must do it.
    done = _run_parent(
        f"""
        import time
        from eakte.extraction import TextExtractor
        ex = TextExtractor(workers=2)
        r = ex.extract({str(sample_dir / "brief.pdf")!r}, "application/pdf")
        assert r.status == "done", r
        deadline = time.monotonic() + 20
        while len(ex.worker_pids()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # the second one is still being prestarted
        print(*ex.worker_pids())
        """
    )
    assert done.returncode == 0, done.stderr
    pids = [int(p) for p in done.stdout.split()]
    assert len(pids) == 2
    for pid in pids:
        assert _wait_gone(pid, within=3), f"worker {pid} survived its parent"


def test_worker_dies_with_its_parent_even_when_busy(sample_dir: Path) -> None:
    # The parent is SIGKILLed while its worker sleeps inside a request:
    # no atexit, no EOF read; the worker's parent watch must end it.
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, threading
                from eakte.extraction import TextExtractor
                ex = TextExtractor(timeout_s=600)
                ex.extract({str(sample_dir / "brief.pdf")!r}, "application/pdf")
                print(ex._tmpdir, *ex.worker_pids(), flush=True)
                threading.Thread(target=ex.extract, args=("x", "application/x-eakte-test-sleep")).start()
                sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT), EAKTE_EXTRACTION_TEST_HOOKS="1"),
    )
    assert parent.stdout is not None
    tmpdir, pid = parent.stdout.readline().split()
    worker_pid = int(pid)
    time.sleep(0.5)
    parent.kill()
    parent.wait()
    for stream in (parent.stdin, parent.stdout):
        if stream is not None:
            stream.close()
    shutil.rmtree(tmpdir, ignore_errors=True)  # a SIGKILLed parent cannot clean up
    assert _wait_gone(worker_pid, within=5), "worker survived the death of its parent"
