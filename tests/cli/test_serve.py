"""`eakte serve` as an office runs it: waitress plus the in-process job consumer, over real HTTP."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests
from click.testing import CliRunner

from eakte.cli import main
from tests.helpers import pdf_bytes
from tests.s3_servers import free_port


def test_serve_runs_jobs_in_process(tmp_path: Path) -> None:
    env = {**os.environ, "EAKTE_DATA_DIR": str(tmp_path / "data")}
    env.pop("EAKTE_DATABASE_URL", None)
    runner = CliRunner()
    token = runner.invoke(main, ["init", "--admin", "chef"], env=env).output.split("API token ")[1].strip()
    for args in (["unit", "create", "20", "Kämmerei"], ["file-plan", "add", "20", "Finanzen", "--retention-years", "10"],
                 ["user", "create", "anna", "--unit", "20", "--role", "clerk"]):
        assert runner.invoke(main, args, env=env).exit_code == 0
    anna = runner.invoke(main, ["user", "token", "anna"], env=env).output.strip()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "eakte", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout is not None
        # Start-up warnings (case types naming units this installation has not created) come first.
        lines: list[str] = []
        while not lines or ("listening" not in lines[-1] and len(lines) < 10):
            lines.append(server.stdout.readline())
        assert "listening" in lines[-1], lines
        base = f"http://127.0.0.1:{port}/api/v1"
        h = {"Authorization": f"Bearer {anna}"}
        case = requests.post(f"{base}/cases", json={"file_plan_code": "20", "title": "Akte", "unit": "20"},
                             headers=h, timeout=10).json()
        doc = requests.post(f"{base}/cases/{case['id']}/documents", headers=h, timeout=30,
                            files={"file": ("brief.pdf", pdf_bytes(), "application/pdf")},
                            data={"title": "Brief"}).json()
        assert doc["version"]["text_status"] == "pending"
        deadline = time.monotonic() + 20
        status = "pending"
        while status == "pending" and time.monotonic() < deadline:
            time.sleep(0.2)
            status = requests.get(f"{base}/documents/{doc['id']}", headers=h, timeout=10).json()["versions"][0][
                "text_status"]
        assert status == "done"
        assert requests.get(f"{base}/me", headers={"Authorization": f"Bearer {token}"}, timeout=10).ok
    finally:
        server.terminate()
        server.wait(timeout=30)
