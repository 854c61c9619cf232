"""The test-server helpers themselves: binary discovery and the CI switch that forbids skipping SeaweedFS."""
from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests import s3_servers
from tests import conftest as storage_conftest


@pytest.mark.parametrize(("value", "required"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_require_switch(monkeypatch: pytest.MonkeyPatch, value: str, required: bool) -> None:
    monkeypatch.setenv(s3_servers.REQUIRE_SEAWEEDFS_ENV, value)
    assert s3_servers.seaweedfs_required() is required


def test_missing_weed_skips_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage_conftest, "weed_binary", lambda: None)
    monkeypatch.delenv(s3_servers.REQUIRE_SEAWEEDFS_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="not found"):
        storage_conftest.weed_or_skip()


def test_missing_weed_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage_conftest, "weed_binary", lambda: None)
    monkeypatch.setenv(s3_servers.REQUIRE_SEAWEEDFS_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=s3_servers.REQUIRE_SEAWEEDFS_ENV):
        storage_conftest.weed_or_skip()


def test_start_without_weed_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(s3_servers, "weed_binary", lambda: None)
    with pytest.raises(RuntimeError, match="weed"):
        s3_servers.start_seaweedfs(tmp_path)


def test_identity_file_is_private(tmp_path: Path) -> None:
    path = s3_servers.write_seaweedfs_identities(tmp_path / "ids.json", "AK", "SK")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    (identity,) = json.loads(path.read_text())["identities"]
    assert identity["credentials"] == [{"accessKey": "AK", "secretKey": "SK"}]


def test_command_pins_every_port(tmp_path: Path) -> None:
    names = ["master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc", "admin",
             "admin_grpc"]
    ports = dict(zip(names, range(40000, 40010), strict=True))
    command = s3_servers.seaweedfs_command("weed", tmp_path, tmp_path / "ids.json", ports)
    for port in ports.values():
        assert sum(arg.endswith(f"={port}") for arg in command) == 1
    assert "-ip.bind=127.0.0.1" in command and "-master.telemetry=false" in command
