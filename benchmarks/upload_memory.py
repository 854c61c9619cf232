"""Peak RSS growth of the server while a 1 GB file is uploaded over HTTP (target: < 100 MB).

Starts `eakte serve` (waitress) on a fresh data directory, streams a multipart upload of SIZE bytes from disk
with http.client (the client never holds the file either), and samples the server's RSS (with its extraction
child) every 20 ms.

    python benchmarks/upload_memory.py [--size-mb 1024]
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._town import small_town  # noqa: E402

CHUNK = 1024 * 1024


def make_file(path: Path, size: int) -> str:
    """A TIFF header followed by pseudo-random bytes: an allowed type with nothing to extract."""
    digest = hashlib.sha256()
    block = os.urandom(CHUNK)
    with path.open("wb") as out:
        head = b"II*\x00\x08\x00\x00\x00" + block[8:]
        written = 0
        while written < size:
            part = (head if written == 0 else block)[: min(CHUNK, size - written)]
            out.write(part)
            digest.update(part)
            written += len(part)
    return digest.hexdigest()


def rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def upload(port: int, token: str, case_id: int, path: Path) -> tuple[int, dict]:
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nGroße Datei\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"gross.tif\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.putrequest("POST", f"/api/v1/cases/{case_id}/documents")
    conn.putheader("Authorization", f"Bearer {token}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head) + path.stat().st_size + len(tail)))
    conn.endheaders()
    conn.send(head)
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            conn.send(block)
    conn.send(tail)
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read() or b"{}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        rt, _clerk, case_id, token = small_town(data_dir)
        rt.close()
        source = Path(tmp) / "gross.tif"
        print(f"writing a {args.size_mb} MB test file …", flush=True)
        sha = make_file(source, args.size_mb * CHUNK)
        env = {**os.environ, "EAKTE_DATA_DIR": str(data_dir), "EAKTE_INGEST__MAX_SIZE_MB": str(args.size_mb + 16)}
        server = subprocess.Popen([sys.executable, "-m", "eakte", "serve", "--port", str(args.port)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            if "listening" not in line:
                raise SystemExit(f"server did not start: {line}{server.stdout.read()}")
            proc = psutil.Process(server.pid)
            small = Path(tmp) / "klein.tif"
            make_file(small, 64 * 1024)
            upload(args.port, token, case_id, small)  # warm up: imports, first request, extraction worker
            idle = rss(proc)
            peak = idle
            done = threading.Event()

            def sample() -> None:
                nonlocal peak
                while not done.is_set():
                    peak = max(peak, rss(proc))
                    time.sleep(0.02)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            start = time.perf_counter()
            status, body = upload(args.port, token, case_id, source)
            elapsed = time.perf_counter() - start
            done.set()
            sampler.join()
        finally:
            server.terminate()
            server.wait(timeout=30)
    ok = status == 201 and body.get("version", {}).get("sha256") == sha
    print(f"upload:           {args.size_mb} MB in {elapsed:.1f} s ({args.size_mb / elapsed:.0f} MB/s), "
          f"HTTP {status}, sha256 {'matches' if ok else 'MISMATCH'}")
    print(f"server RSS:       idle {idle / 2**20:.1f} MB, peak {peak / 2**20:.1f} MB")
    print(f"peak RSS growth:  {(peak - idle) / 2**20:.1f} MB   (target < 100 MB)")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
