"""Server time of the web pages on PostgreSQL with the inbox benchmark's town (100,000 open tasks by default).

Builds the same data as benchmarks/inbox.py (bulk COPY into a database of its own), signs a typical approver and
a clerk in through /login, and times through the real WSGI stack (Flask test client, real session cookies):

  * the dashboard (/), the inbox page (/inbox) and a case page (/cases/<id>) with 50 documents;
  * side by side, the API call each page is built on (GET /api/v1/inbox?limit=25, GET /api/v1/cases/<id> plus
    its documents), so the ratio shows what rendering the page adds.

    python benchmarks/web.py [--tasks 100000] [--users 1000] [--samples 100] [--pg-url URL]
Target: p95 < 150 ms per page.  The database is dropped at the end, also on error.
"""
from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import DEFAULT_PG, fmt, pct, say, temporary_database
from benchmarks.inbox import (INVOICE_SETTINGS, PERMIT, RECEIPT, TRAVEL, StatementLog, generate, pick_approver,
                              print_statements, token_for)
from eakte.app import create_app
from eakte.bootstrap import build_runtime
from eakte.config import DatabaseSettings, JobsSettings, Settings
from eakte.demo import demo_pdf
from eakte.models import User
from eakte.runtime import Runtime
from eakte.services import identity
from workflows.registry import load_registry

PASSWORD = "benchmark-password"


def timed(client: Any, url: str, n: int, headers: dict[str, str] | None = None, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        resp = client.get(url, headers=headers or {})
        assert resp.status_code == 200, (url, resp.status_code, resp.get_data(as_text=True)[:300])
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        resp = client.get(url, headers=headers or {})
        times.append((time.perf_counter() - t0) * 1000)
        assert resp.status_code == 200, (url, resp.status_code)
    return times


def signed_in(app: Any, rt: Runtime, user_id: int) -> Any:
    with rt.db.write() as session:
        user = session.get(User, user_id)
        assert user is not None
        user.password_hash = identity.hash_password(PASSWORD)
        username = user.username
    client = app.test_client()
    resp = client.post("/login", data={"username": username, "password": PASSWORD})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:300]
    return client


def case_with_documents(client: Any, headers: dict[str, str], n_docs: int) -> int:
    resp = client.post("/api/v1/cases", headers=headers, json={"file_plan_code": "20.30", "title":
                       "Benchmark: Akte mit vielen Dokumenten", "unit": RECEIPT, "case_type": "general"})
    assert resp.status_code == 201, resp.get_json()
    case_id = resp.get_json()["id"]
    for i in range(n_docs):
        pdf = demo_pdf(f"Dokument {i}", [f"Lieferschein und Rechnung Nr. {1000 + i}"])
        r = client.post(f"/api/v1/cases/{case_id}/documents", headers=headers, content_type="multipart/form-data",
                        data={"file": (io.BytesIO(pdf), f"dokument-{i:02d}.pdf"), "title": f"Dokument {i:02d}"})
        assert r.status_code == 201, r.get_json()
    return case_id


def line(label: str, page: list[float], api: list[float] | None = None) -> None:
    ratio = f"   page/API p50 {pct(page, .5) / pct(api, .5):4.2f}×" if api else ""
    say(f"  {label:34} {fmt(page)}{ratio}")
    if api:
        say(f"  {'  (API baseline)':34} {fmt(api)}")


def run(rt: Runtime, args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    say(f"generating {args.units} units, {args.users} users, {args.tasks} open tasks on PostgreSQL …")
    world = generate(rt, args.units, args.users, args.tasks, rng)
    app = create_app(rt)
    app.config["WTF_CSRF_ENABLED"] = False  # the benchmark logs in without first reading the form
    approver_id, _unit = pick_approver(world, args.tasks / args.units)
    receipt = world.unit_ids[RECEIPT]
    clerk_id = next(u for u in world.members[(receipt, "clerk")] if world.memberships_of[u] == [(receipt, "clerk")])
    api = app.test_client()
    approver_api = {"Authorization": f"Bearer {token_for(rt, approver_id)}"}
    clerk_api = {"Authorization": f"Bearer {token_for(rt, clerk_id)}"}
    approver, clerk = signed_in(app, rt, approver_id), signed_in(app, rt, clerk_id)
    say(f"  building a case with {args.documents} documents …")
    case_id = case_with_documents(api, clerk_api, args.documents)

    n = args.samples
    if args.profile:
        log = StatementLog(rt.db.engine)
        for label, client, url in (("approver /", approver, "/"), ("approver /inbox", approver, "/inbox"),
                                   ("clerk /", clerk, "/"), ("clerk /inbox", clerk, "/inbox"),
                                   (f"clerk /cases/{case_id}", clerk, f"/cases/{case_id}")):
            client.get(url)
            rows, wall = log.capture(lambda: client.get(url))
            say(f"\n  {label}:")
            print_statements(rows, wall)
    say(f"\npages of a typical approver (user{approver_id:04d}):")
    line("GET / (Übersicht)", timed(approver, "/", n))
    line("GET /inbox (Postkorb)", timed(approver, "/inbox", n), timed(api, "/api/v1/inbox?limit=25", n, approver_api))
    say(f"\npages of a clerk of unit {RECEIPT} (the busiest inbox):")
    line("GET / (Übersicht)", timed(clerk, "/", n))
    line("GET /inbox (Postkorb)", timed(clerk, "/inbox", n), timed(api, "/api/v1/inbox?limit=25", n, clerk_api))
    api_case = []
    for _ in range(n):
        t0 = time.perf_counter()
        assert api.get(f"/api/v1/cases/{case_id}", headers=clerk_api).status_code == 200
        assert api.get(f"/api/v1/cases/{case_id}/documents", headers=clerk_api).status_code == 200
        api_case.append((time.perf_counter() - t0) * 1000)
    line(f"GET /cases/{case_id} ({args.documents} documents)", timed(clerk, f"/cases/{case_id}", n), api_case)
    say("\ntarget: p95 < 150 ms per page")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--units", type=int, default=40)
    parser.add_argument("--documents", type=int, default=50)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--profile", action="store_true", help="print the SQL statements of one request per page")
    args = parser.parse_args()
    rt: Runtime | None = None
    with temporary_database(args.pg_url) as url:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                settings = Settings(data_dir=Path(tmp) / "data", database=DatabaseSettings(url=url),
                                    jobs=JobsSettings(backend="immediate"), case_types=INVOICE_SETTINGS)
                settings.data_dir.mkdir(parents=True)
                rt = build_runtime(settings)
                rt.__dict__["registry"] = load_registry(settings.case_types, extra={"permit": PERMIT, "travel": TRAVEL})
                rt.db.upgrade()
                run(rt, args)
        finally:
            if rt is not None:
                rt.close()


if __name__ == "__main__":
    main()
