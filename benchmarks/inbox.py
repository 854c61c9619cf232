"""Workflow load on PostgreSQL: inbox latency for a typical approver, completing a task, and e-invoice intake.

Builds a town of UNITS units and USERS users with memberships and TASKS open workflow tasks (invoices and two
made-up case types, with their cases, workflow instances and the done tasks of earlier steps) by bulk COPY in a
database of its own, then measures through the real HTTP stack (Flask test client, real API tokens):

  * GET /api/v1/inbox?limit=50 for an approver whose unit has about the average number of open tasks
    (and the same with ?case_type=invoice&overdue=true; and, for comparison, the busiest clerk inbox);
  * POST /api/v1/tasks/{id}/complete ("eingang" → "forward") for invoices taken in through the API;
  * POST /api/v1/intake/invoice for the whole sample set (XRechnung, ZUGFeRD XML, Factur-X PDF), a few rounds.

    python benchmarks/inbox.py [--tasks 100000] [--users 1000] [--samples 200] [--pg-url URL] [--explain]
                               [--search whoosh|postgres]
Targets: inbox p95 < 50 ms; intake >= 20 invoices/s until searchable, as `eakte serve` runs.  The database is dropped at the end, also on error.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, func, insert, select, text

from benchmarks._common import DEFAULT_PG, copy_rows, fmt, pct, say, temporary_database
from eakte.app import create_app
from eakte.clock import utcnow
from eakte.config import DatabaseSettings, JobsSettings, SearchSettings, Settings
from eakte.jobs import jobs_of
from eakte.models import CaseCounter, DocumentVersion, FilePlanNode, SearchOutbox, Task, Unit, User
from eakte.bootstrap import build_runtime
from eakte.runtime import Runtime
from eakte.services import identity, invoices, workflow
from eakte.services.access import OFFICE_TZ, SYSTEM, Actor, Principal, load_principal
from workflows.definition import CaseType, Decision, DueInDays, NotSameAs, Step
from workflows.registry import load_registry

OPERATOR = Actor(Principal(SYSTEM.user_id, "benchmark", {0: frozenset({"admin"})}), "benchmark")
TESTDATA = Path(__file__).resolve().parents[1] / "tests" / "data"
INBOX_TARGET_MS = 50.0
INTAKE_TARGET = 20.0  # invoices/s (issue 8)

RECEIPT, FINANCE, CASH = "20", "20", "21"
# Leitweg-ID fine parts of the XRechnung samples → ordering unit; 12346 routes nowhere (PATCHed before forwarding).
ROUTING = {"12345": "32", "12347": "40", "12348": "41", "18188": "32", "01944": "45", "05676": "33",
           "12349": "37", "12350": "30"}
INVOICE_SETTINGS = {"invoice": {"receipt_unit": RECEIPT, "finance_unit": FINANCE, "cash_unit": CASH,
                                "routing": ROUTING}}

# Two made-up case types, so that every generated task has a step with decisions (as in a real installation).
_REJECT = Decision("reject", "Ablehnen", "Reject", None, "reject")
PERMIT = CaseType(
    key="permit", label_de="Bauantrag", label_en="Building permit", open_schema=True, start="pruefung",
    extra_roles=("head_of_unit",),
    steps=(Step("pruefung", "Vollständigkeitsprüfung", "Completeness check", "clerk",
                decisions=(Decision("forward", "Weiterleiten", "Forward", "genehmigung"), _REJECT),
                due=DueInDays(14), escalate_to=("$responsible", "head_of_unit")),
           Step("genehmigung", "Genehmigung", "Approval", "approver",
                decisions=(Decision("approve", "Genehmigen", "Approve", None),
                           Decision("return", "Zurückgeben", "Return", "pruefung", "return"), _REJECT),
                guards=(NotSameAs(("pruefung",)),), due=DueInDays(14),
                escalate_to=("$responsible", "head_of_unit"))))
TRAVEL = CaseType(
    key="travel", label_de="Dienstreiseantrag", label_en="Business trip", open_schema=True, start="antrag",
    extra_roles=("head_of_unit",),
    steps=(Step("antrag", "Genehmigung der Reise", "Approve the trip", "approver",
                decisions=(Decision("approve", "Genehmigen", "Approve", "abrechnung"), _REJECT),
                due=DueInDays(7), escalate_to=("$responsible", "head_of_unit")),
           Step("abrechnung", "Reisekostenabrechnung", "Expense claim", "clerk",
                decisions=(Decision("release", "Auszahlen", "Pay out", None), _REJECT),
                guards=(NotSameAs(("antrag",)),), due=DueInDays(7),
                escalate_to=("$responsible", "head_of_unit"))))

# (step, role, unit kind, share of the type's open tasks, decision that led past it)
STEPS: dict[str, list[tuple[str, str, str, float, str]]] = {
    "invoice": [("eingang", "clerk", "receipt", .10, "forward"), ("sachlich", "approver", "ordering", .35, "approve"),
                ("rechnerisch", "clerk", "finance", .15, "approve"),
                ("anordnung", "approver", "ordering", .30, "approve"), ("zahlung", "clerk", "cash", .10, "release")],
    "permit": [("pruefung", "clerk", "responsible", .5, "forward"),
               ("genehmigung", "approver", "responsible", .5, "approve")],
    "travel": [("antrag", "approver", "responsible", .6, "approve"),
               ("abrechnung", "clerk", "responsible", .4, "release")],
}
TYPE_SHARE = {"invoice": .45, "permit": .30, "travel": .25}
FILE_PLAN = [("20", "Finanzen", None), ("20.30", "Rechnungen", "20"), ("60", "Bauen", None),
             ("60.10", "Bauanträge", "60"), ("11", "Personal", None), ("11.40", "Dienstreisen", "11")]
NODE_OF_TYPE = {"invoice": "20.30", "permit": "60.10", "travel": "11.40"}


# --- statistics and output ------------------------------------------------------------------------------------

# --- SQL statement log (for the profile) ----------------------------------------------------------------------

class StatementLog:
    """Records every statement the engine runs while active, with its parameters and time."""

    def __init__(self, engine: Any) -> None:
        self.active = False
        self.rows: list[tuple[str, Any, float]] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if self.active:
            self.rows.append((statement, parameters, (time.perf_counter() - conn.info["bench_t0"]) * 1000))

    def capture(self, fn: Callable[[], Any]) -> tuple[list[tuple[str, Any, float]], float]:
        self.rows, self.active = [], True
        t0 = time.perf_counter()
        try:
            fn()
        finally:
            self.active = False
        return self.rows, (time.perf_counter() - t0) * 1000


def statement_kind(sql: str) -> str:
    flat = " ".join(sql.split())
    verb = flat.split(" ", 1)[0].upper()
    if verb == "SELECT" and "pg_advisory_xact_lock" in flat:
        return "SELECT pg_advisory_xact_lock (audit chain)"
    m = re.search(r"\bFROM (\w+)", flat) if verb in ("SELECT", "DELETE") else re.search(r"^\w+ (?:INTO )?(\w+)", flat)
    table = m.group(1) if m else "?"
    where = re.search(r"\bWHERE (.*?)(?: ORDER BY| GROUP BY| LIMIT| FOR UPDATE| RETURNING|$)", flat)
    cond = re.sub(r"%\(\w+\)s(::\w+(\[\])?)?", "?", where.group(1))[:70] if where else ""
    agg = " count()" if "count(" in flat.lower() else ""
    return f"{verb}{agg} {table}" + (f" WHERE {cond}" if cond else "")


def print_statements(rows: list[tuple[str, Any, float]], wall_ms: float, top: int = 8) -> None:
    groups: dict[str, list[float]] = defaultdict(list)
    for sql, _, ms in rows:
        groups[statement_kind(sql)].append(ms)
    db_ms = sum(ms for *_, ms in rows)
    say(f"    {len(rows)} SQL statements, {db_ms:.1f} ms in the database driver, {wall_ms:.1f} ms wall "
        f"({wall_ms - db_ms:.1f} ms Python: Flask, ORM, engine, JSON)")
    for kind, times in sorted(groups.items(), key=lambda kv: -sum(kv[1]))[:top]:
        say(f"    {len(times):5d} x {sum(times):7.1f} ms  {kind}")


# --- the town ------------------------------------------------------------------------------------------------

@dataclass
class World:
    unit_ids: dict[str, int]
    members: dict[tuple[int, str], list[int]]  # (unit id, role) → user ids
    memberships_of: dict[int, list[tuple[int, str]]]
    open_by_unit_role: Counter[tuple[int, str]]
    counts: dict[str, int] = field(default_factory=dict)


def invoice_templates() -> list[dict[str, Any]]:
    """The metadata intake stores for each XRechnung sample (fields, source, checks): realistic JSON sizes."""
    out = []
    for path in sorted((TESTDATA / "xrechnung").glob("*.xml")):
        out.append(invoices._read_invoice(path, "text/xml"))
    return out


def generate(rt: Runtime, n_units: int, n_users: int, n_tasks: int, rng: random.Random) -> World:
    now = utcnow()
    year = dt.datetime.now(OFFICE_TZ).year
    codes = [str(10 + i) for i in range(n_units)]
    weights = {c: rng.lognormvariate(0, 0.6) for c in codes}
    unit_ids = {c: i + 1 for i, c in enumerate(codes)}
    ordering_codes = [c for c in codes if c not in (RECEIPT, FINANCE, CASH)]
    templates = invoice_templates()

    with rt.db.engine.begin() as conn:
        conn.execute(insert(Unit), [{"id": unit_ids[c], "code": c, "name": f"Amt {c}", "created_at": now}
                                    for c in codes])
        node_ids: dict[str, int] = {}
        for i, (code, title, parent) in enumerate(FILE_PLAN, start=1):
            node_ids[code] = i
            conn.execute(insert(FilePlanNode).values(id=i, code=code, title=title, parent_id=node_ids.get(parent or ""),
                                                     retention_years=10, disposal="archive", created_at=now))

    # Users: every unit has staff in proportion to its weight (at least 6), the Kämmerei and the cash office
    # are mostly clerks; one head of unit per unit; a fifth of the staff also works in a second unit.
    staff_units: list[str] = []
    for c in codes:
        staff_units += [c] * 6
    rest = n_users - 1 - len(staff_units)
    staff_units += rng.choices(codes, weights=[weights[c] for c in codes], k=max(0, rest))
    memberships: list[tuple[int, int, str]] = [(1, unit_ids["10"], "admin")]
    seen_head: set[str] = set()
    for uid, code in enumerate(staff_units, start=2):
        unit = unit_ids[code]
        if code not in seen_head:
            seen_head.add(code)
            memberships += [(uid, unit, "approver"), (uid, unit, "head_of_unit")]
        else:
            r = rng.random()
            clerk_share = .8 if code in (RECEIPT, FINANCE, CASH) else .55
            if r < clerk_share:
                memberships.append((uid, unit, "clerk"))
            elif r < .9:
                memberships.append((uid, unit, "approver"))
            else:
                memberships += [(uid, unit, "clerk"), (uid, unit, "approver")]
        if rng.random() < .2:
            other = rng.choice([c for c in codes if c != code])
            memberships.append((uid, unit_ids[other], rng.choice(["clerk", "approver"])))
    memberships = list(dict.fromkeys(memberships))
    user_total = len(staff_units) + 1
    members: dict[tuple[int, str], list[int]] = defaultdict(list)
    memberships_of: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for uid, unit, role in memberships:
        members[(unit, role)].append(uid)
        memberships_of[uid].append((unit, role))
    staff_of_unit: dict[int, list[int]] = defaultdict(list)
    for uid, code in enumerate(staff_units, start=2):
        staff_of_unit[unit_ids[code]].append(uid)

    raw_pool = rt.db.engine.raw_connection()
    raw: Any = raw_pool.driver_connection
    try:
        copy_rows(raw, "users", ["id", "username", "display_name", "email", "is_active", "created_at"],
                  ((uid, f"user{uid:04d}" if uid > 1 else "admin", f"Benutzer {uid}", f"user{uid}@example.org",
                    True, now) for uid in range(1, user_total + 1)))
        copy_rows(raw, "memberships", ["id", "user_id", "unit_id", "role"],
                  ((i, u, un, r) for i, (u, un, r) in enumerate(memberships, start=1)))
        today = dt.datetime.now(OFFICE_TZ).date()
        deputies: list[tuple[Any, ...]] = []
        for uid in rng.sample(range(2, user_total + 1), k=max(1, user_total // 50)):
            colleagues = [u for u in staff_of_unit[unit_ids[staff_units[uid - 2]]] if u != uid]
            if colleagues:
                deputies.append((len(deputies) + 1, uid, rng.choice(colleagues), today - dt.timedelta(days=3),
                                 today + dt.timedelta(days=4)))
        copy_rows(raw, "deputies", ["id", "user_id", "deputy_id", "starts_on", "ends_on"], deputies)

        # Cases, workflow instances, open tasks and the done tasks of earlier steps.
        sellers = [f"Lieferant {i} GmbH" for i in range(400)]
        case_rows: list[tuple[Any, ...]] = []
        instance_rows: list[tuple[Any, ...]] = []
        task_rows: list[tuple[Any, ...]] = []
        numbers: Counter[str] = Counter()
        open_by_unit_role: Counter[tuple[int, str]] = Counter()
        task_id = 0
        types = list(TYPE_SHARE)
        type_weights = [TYPE_SHARE[t] for t in types]
        ord_weights = [weights[c] for c in ordering_codes]
        code_weights = [weights[c] for c in codes]

        def unit_for(kind: str, ordering: str, responsible: str) -> str:
            return {"receipt": RECEIPT, "finance": FINANCE, "cash": CASH, "ordering": ordering,
                    "responsible": responsible}[kind]

        for case_id in range(1, n_tasks + 1):
            ctype = rng.choices(types, weights=type_weights)[0]
            steps = STEPS[ctype]
            idx = rng.choices(range(len(steps)), weights=[s[3] for s in steps])[0]
            ordering = rng.choices(ordering_codes, weights=ord_weights)[0]
            responsible = rng.choices(codes, weights=code_weights)[0]
            created = now - dt.timedelta(days=rng.uniform(1, 60))
            node = NODE_OF_TYPE[ctype]
            numbers[node] += 1
            number = numbers[node]
            if ctype == "invoice":
                meta = dict(rng.choice(templates))
                meta.update(invoice_number=f"B-{case_id:07d}", seller_name=rng.choice(sellers),
                            amount_due=f"{rng.uniform(10, 20000):.2f}", ordering_unit=ordering)
                meta.pop("duplicate_override", None)
                title = f"Rechnung {meta['invoice_number']} {meta['seller_name']}"
                case_unit = RECEIPT
            elif ctype == "permit":
                meta = {"applicant": f"Bauherr {case_id}", "parcel": f"Flur {rng.randint(1, 40)}, "
                        f"Flurstück {rng.randint(1, 999)}", "kind": rng.choice(["Neubau", "Umbau", "Abriss"])}
                title = f"Bauantrag {meta['applicant']}"
                case_unit = responsible
            else:
                meta = {"traveller": f"user{rng.randint(2, user_total):04d}", "destination":
                        rng.choice(["Berlin", "Wiesbaden", "Frankfurt", "Kassel"]),
                        "estimated_cost": f"{rng.uniform(50, 900):.2f}"}
                title = f"Dienstreise nach {meta['destination']}"
                case_unit = responsible
            case_rows.append((case_id, f"{node}/{number:04d}/{year}", node_ids[node], year, number, title, ctype,
                              unit_ids[case_unit], "open", json.dumps(meta), created, 1, created))
            instance_rows.append((case_id, case_id, ctype, "running", steps[idx][0], created))
            # earlier steps, decided
            t = created
            for step, role, kind, _, decision in steps[:idx]:
                unit = unit_ids[unit_for(kind, ordering, responsible)]
                decider = rng.choice(members.get((unit, role)) or [1])
                done_due = t + dt.timedelta(days=10)
                t = t + dt.timedelta(hours=rng.uniform(2, 72))
                task_id += 1
                task_rows.append((task_id, case_id, case_id, ctype, step, unit, role, None, None, None, "done",
                                  decision, None, decider, t, done_due, unit, "head_of_unit", None, created))
            # the open task
            step, role, kind, _, _ = steps[idx]
            unit = unit_ids[unit_for(kind, ordering, responsible)]
            due: dt.datetime | None = None if (ctype != "invoice" and rng.random() < .02) else \
                now + dt.timedelta(days=rng.uniform(-30, 30))
            assignee = claimed_by = claimed_at = escalated_at = None
            r = rng.random()
            if r < .02 and staff_of_unit[unit]:
                assignee = rng.choice(staff_of_unit[unit])
            elif r < .07 and members.get((unit, role)):
                claimed_by = rng.choice(members[(unit, role)])
                claimed_at = now - dt.timedelta(hours=rng.uniform(1, 200))
            if due is not None and due < now and rng.random() < .4:
                escalated_at = min(now, due + dt.timedelta(days=1))
            if assignee is None and claimed_by is None:
                open_by_unit_role[(unit, role)] += 1
            task_id += 1
            task_rows.append((task_id, case_id, case_id, ctype, step, unit, role, assignee, claimed_by, claimed_at,
                              "open", None, None, None, None, due, unit, "head_of_unit", escalated_at, t))

        copy_rows(raw, "cases", ["id", "reference", "file_plan_node_id", "year", "number", "title", "case_type",
                                 "unit_id", "status", "metadata", "created_at", "created_by", "updated_at"], case_rows)
        copy_rows(raw, "workflow_instances", ["id", "case_id", "case_type", "status", "current_step", "started_at"],
                  instance_rows)
        copy_rows(raw, "tasks", ["id", "instance_id", "case_id", "case_type", "step", "unit_id", "role",
                                 "assignee_id", "claimed_by", "claimed_at", "status", "decision", "comment",
                                 "decided_by", "decided_at", "due_at", "escalate_unit_id", "escalate_role",
                                 "escalated_at", "created_at"], task_rows)
        raw.commit()
    finally:
        raw_pool.close()

    with rt.db.engine.begin() as conn:
        conn.execute(insert(CaseCounter), [{"file_plan_node_id": node_ids[node], "year": year, "last_number": n}
                                           for node, n in numbers.items()])
        for table in ("units", "users", "memberships", "file_plan_nodes", "deputies", "cases", "workflow_instances",
                      "tasks"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"))
    with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        conn.execute(text("CHECKPOINT"))  # so the bulk load's dirty pages are not written during the timings
    world = World(unit_ids, dict(members), dict(memberships_of), open_by_unit_role)
    world.counts = {"units": len(codes), "users": user_total, "memberships": len(memberships),
                    "deputies": len(deputies), "cases": len(case_rows), "open tasks": n_tasks,
                    "done tasks": len(task_rows) - n_tasks}
    return world


def pick_approver(world: World, target: float) -> tuple[int, int]:
    """An approver with a single membership, in the unit whose approver queue is closest to `target`."""
    candidates = []
    for (unit, role), n in world.open_by_unit_role.items():
        if role != "approver":
            continue
        plain = [u for u in world.members.get((unit, role), []) if world.memberships_of[u] == [(unit, "approver")]]
        if plain:
            candidates.append((abs(n - target), unit, plain[0]))
    _, unit, user = min(candidates)
    return user, unit


def token_for(rt: Runtime, user_id: int) -> str:
    with rt.db.write() as session:
        user = session.get(User, user_id)
        assert user is not None
        return identity.issue_token(session, OPERATOR, user, "benchmark")


# --- measurements -------------------------------------------------------------------------------------------

def time_get(client: Any, url: str, headers: dict[str, str], n: int, warmup: int = 5) -> tuple[list[float], dict]:
    body: dict = {}
    for _ in range(warmup):
        resp = client.get(url, headers=headers)
        assert resp.status_code == 200, (url, resp.status_code, resp.get_json())
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        resp = client.get(url, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        assert resp.status_code == 200, (url, resp.status_code, resp.get_json())
        body = resp.get_json()
    return times, body


def intake(client: Any, headers: dict[str, str], path: Path, data: bytes) -> Any:
    return client.post("/api/v1/intake/invoice", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), path.name), "duplicate_reason": "benchmark"})


def intake_with_consumer(rt: Runtime, client: Any, headers: dict[str, str], blobs: list[tuple[Path, bytes]],
                         rounds: int) -> tuple[list[float], float, float]:
    """The intakes through the SQLite job queue with the in-process consumer (the embedded default of `eakte
    serve`): per-request times, seconds until all were answered, and until every text was extracted and indexed."""
    inline = rt.settings
    rt.settings = replace(inline, jobs=JobsSettings(backend="sqlite"))
    rt.__dict__.pop("jobs", None)  # built again from the settings on next use
    # Without the periodic job: it would escalate the generated world's thousands of overdue tasks meanwhile.
    consumer = jobs_of(rt).consumer(periodic=False)
    consumer.start()
    times: list[float] = []
    try:
        t0 = time.perf_counter()
        for _ in range(rounds):
            for path, data in blobs:
                t = time.perf_counter()
                resp = intake(client, headers, path, data)
                times.append((time.perf_counter() - t) * 1000)
                assert resp.status_code == 201, (path.name, resp.status_code, resp.get_json())
        answered = time.perf_counter() - t0
        while _not_caught_up(rt):
            time.sleep(0.01)
        caught_up = time.perf_counter() - t0
    finally:
        consumer.stop_and_wait()
        rt.settings = inline
        rt.__dict__.pop("jobs", None)
    return times, answered, caught_up


def _not_caught_up(rt: Runtime) -> int:
    with rt.db.read() as session:
        return session.execute(select(
            select(func.count()).select_from(DocumentVersion).where(DocumentVersion.text_status == "pending")
            .scalar_subquery() + select(func.count()).select_from(SearchOutbox).scalar_subquery())).scalar_one()


def explain(rt: Runtime, sql: str, params: Any, ms: float, label: str) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of one captured statement, with the parameters it ran with."""
    with rt.db.engine.connect() as conn:
        plan = [r[0] for r in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)]
    say(f"\n  -- {label} ({ms:.1f} ms in the request): {statement_kind(sql)}")
    for line in plan:
        say("     " + line)


def explain_inbox(rt: Runtime, rows: list[tuple[str, Any, float]]) -> None:
    """The statements of one inbox call that read the tasks table as a whole (not the per-row look-ups)."""
    shown = 0
    for sql, params, ms in rows:
        flat = " ".join(sql.split())
        if "FROM tasks" in flat and "tasks.instance_id =" not in flat and "tasks.status =" in flat:
            shown += 1
            explain(rt, sql, params, ms, f"inbox statement {shown}")


def explain_slow(rt: Runtime, rows: list[tuple[str, Any, float]], threshold_ms: float) -> None:
    """Plans of the read-only statements that took longer than `threshold_ms`."""
    for sql, params, ms in rows:
        flat = " ".join(sql.split()).upper()
        if ms > threshold_ms and flat.startswith("SELECT") and "FOR UPDATE" not in flat:
            explain(rt, sql, params, ms, f"slow statement (> {threshold_ms:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000, help="open tasks to generate (default 100000)")
    parser.add_argument("--users", type=int, default=1000, help="users to generate (default 1000)")
    parser.add_argument("--units", type=int, default=40, help="units to generate (default 40, at least 36)")
    parser.add_argument("--samples", type=int, default=200, help="timed inbox calls per variant (default 200)")
    parser.add_argument("--completions", type=int, default=200, help="invoice tasks to complete (default 200)")
    parser.add_argument("--intake-rounds", type=int, default=3, help="rounds over the sample set (default 3)")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL server (a database is created on it)")
    parser.add_argument("--search", choices=("whoosh", "postgres"), default="whoosh",
                        help="search backend (default whoosh, the embedded default; postgres as in production)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the inbox queries even if fast")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    least = max(int(code) for code in ROUTING.values()) - 10 + 1  # units are coded 10, 11, …
    if args.units < least:
        parser.error(f"--units must be at least {least} (the invoice routing reaches unit "
                     f"{max(ROUTING.values(), key=int)})")
    if args.users < 6 * args.units + 1:
        parser.error(f"--users must be at least {6 * args.units + 1} for {args.units} units")

    rt: Runtime | None = None
    with temporary_database(args.pg_url) as url:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                settings = Settings(data_dir=Path(tmp) / "data", database=DatabaseSettings(url=url),
                                    jobs=JobsSettings(backend="immediate"), case_types=INVOICE_SETTINGS,
                                    search=SearchSettings(backend=args.search))
                settings.data_dir.mkdir(parents=True)
                rt = build_runtime(settings)
                rt.__dict__["registry"] = load_registry(settings.case_types,
                                                        extra={"permit": PERMIT, "travel": TRAVEL})
                rt.db.upgrade()
                run(rt, args)
        finally:
            if rt is not None:
                rt.close()


def run(rt: Runtime, args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    say(f"generating {args.units} units, {args.users} users, {args.tasks} open tasks on PostgreSQL …")
    t0 = time.perf_counter()
    world = generate(rt, args.units, args.users, args.tasks, rng)
    gen_s = time.perf_counter() - t0
    say(f"  {', '.join(f'{v} {k}' for k, v in world.counts.items())}  ({gen_s:.1f} s incl. VACUUM ANALYZE)")

    app = create_app(rt)
    client = app.test_client()
    log = StatementLog(rt.db.engine)

    # --- 1. inbox ---------------------------------------------------------------------------------------------
    target = args.tasks / args.units
    approver_id, approver_unit = pick_approver(world, target)
    approver = {"Authorization": f"Bearer {token_for(rt, approver_id)}"}
    unit_code = next(c for c, i in world.unit_ids.items() if i == approver_unit)
    receipt = world.unit_ids[RECEIPT]
    clerk_id = next(u for u in world.members[(receipt, "clerk")] if world.memberships_of[u] == [(receipt, "clerk")])
    clerk = {"Authorization": f"Bearer {token_for(rt, clerk_id)}"}

    say(f"\ninbox of a typical approver (user{approver_id:04d}, approver in unit {unit_code}; "
        f"{target:.0f} open tasks per unit on average):")
    plain, body = time_get(client, "/api/v1/inbox?limit=50", approver, args.samples)
    say(f"  GET /inbox?limit=50                        {fmt(plain)}")
    say(f"      total {body['total']}, counts {body['counts']}")
    filtered, fbody = time_get(client, "/api/v1/inbox?limit=50&case_type=invoice&overdue=true", approver,
                               args.samples)
    say(f"  GET /inbox?case_type=invoice&overdue=true  {fmt(filtered)}")
    say(f"      total {fbody['total']}")
    busy, bbody = time_get(client, "/api/v1/inbox?limit=50", clerk, max(10, args.samples // 7), warmup=2)
    say(f"  busiest inbox: a clerk of unit {RECEIPT}         {fmt(busy)}")
    say(f"      total {bbody['total']}")

    # the service alone: the inbox's three queries, without the per-row task views and the HTTP layer
    with rt.db.read() as session:
        user = session.get(User, approver_id)
        assert user is not None
        actor = Actor(load_principal(session, user, rt.registry.restricted), "127.0.0.1")
        svc = []
        for _ in range(min(args.samples, 100)):
            t = time.perf_counter()
            workflow.inbox(session, actor, workflow.InboxFilter(), offset=0, limit=50)
            svc.append((time.perf_counter() - t) * 1000)
            session.expunge_all()
    say(f"  workflow.inbox() alone, no task_view       {fmt(svc)}")

    say("\nprofile of one inbox call (GET /inbox?limit=50, the typical approver):")
    inbox_rows, wall = log.capture(lambda: client.get("/api/v1/inbox?limit=50", headers=approver))
    print_statements(inbox_rows, wall)
    if pct(plain, .95) > INBOX_TARGET_MS or args.explain:
        say("\n  EXPLAIN (ANALYZE, BUFFERS) of the inbox queries:")
        explain_inbox(rt, inbox_rows)

    # --- 2. intake rate -----------------------------------------------------------------------------------------
    xr = sorted((TESTDATA / "xrechnung").glob("*.xml"))
    zf = TESTDATA / "zugferd"
    samples = xr + sorted(zf.glob("*.xml")) + sorted(zf.glob("*.pdf"))
    blobs = [(p, p.read_bytes()) for p in samples]
    say(f"\nintake rate: {len(samples)} sample invoices x {args.intake_rounds} rounds through POST /intake/invoice "
        f"(duplicate_reason given) …")
    per_kind: dict[str, list[float]] = defaultdict(list)
    statuses: Counter[int] = Counter()
    case_ids: list[int] = []
    ordering: dict[int, str | None] = {}
    t_all = time.perf_counter()
    for _ in range(args.intake_rounds):
        for path, data in blobs:
            t = time.perf_counter()
            resp = intake(client, clerk, path, data)
            ms = (time.perf_counter() - t) * 1000
            statuses[resp.status_code] += 1
            kind = "Factur-X PDF" if path.suffix == ".pdf" else ("ZUGFeRD XML" if path.parent == zf else
                                                                 "XRechnung XML")
            per_kind[kind].append(ms)
            if resp.status_code == 201:
                created = resp.get_json()["case"]
                case_ids.append(created["id"])
                ordering[created["id"]] = created["metadata"].get("ordering_unit")
    elapsed = time.perf_counter() - t_all
    n_docs = len(samples) * args.intake_rounds
    rate = n_docs / elapsed
    for kind, times in per_kind.items():
        say(f"  {kind:14s} {fmt(times)}")
    say(f"  {n_docs} invoices in {elapsed:.2f} s = {rate:.2f} invoices/s   (HTTP status {dict(statuses)}; "
        f"jobs run inline, so text extraction is included)")
    served, answered_s, caught_up_s = intake_with_consumer(rt, client, clerk, blobs, args.intake_rounds)
    served_rate, caught_up_rate = len(served) / answered_s, len(served) / caught_up_s
    say("  the same with the embedded job queue and its in-process consumer, as `eakte serve` runs:")
    say(f"  all kinds      {fmt(served)}")
    say(f"  {len(served)} invoices answered in {answered_s:.2f} s = {served_rate:.2f} invoices/s; every text extracted "
        f"and searchable after {caught_up_s:.2f} s = {caught_up_rate:.2f} invoices/s")

    say("\nprofile of one intake (XRechnung UBL):")
    holder: list[Any] = []
    rows, wall = log.capture(lambda: holder.append(intake(client, clerk, *blobs[0])))
    print_statements(rows, wall, top=6)
    explain_slow(rt, rows, 20.0)

    # --- 3. completing a task -----------------------------------------------------------------------------------
    more = max(0, args.completions - len(case_ids))
    say(f"\ncompleting tasks: {more} more XRechnung invoices taken in, then the first task of "
        f"{args.completions} invoices ('eingang' → 'forward') completed by a clerk of unit {RECEIPT} …")
    intake_more = []
    for i in range(more):
        path, data = blobs[i % len(xr)]
        t = time.perf_counter()
        resp = intake(client, clerk, path, data)
        intake_more.append((time.perf_counter() - t) * 1000)
        assert resp.status_code == 201, (path.name, resp.status_code, resp.get_json())
        created = resp.get_json()["case"]
        case_ids.append(created["id"])
        ordering[created["id"]] = created["metadata"].get("ordering_unit")
    case_ids = case_ids[:args.completions]
    with rt.db.read() as session:
        task_of = dict(session.execute(select(Task.case_id, Task.id).where(
            Task.case_id.in_(case_ids), Task.step == "eingang", Task.status == "open")).all())
    # Invoices whose Leitweg-ID routes nowhere get their ordering unit typed in, as a clerk would.
    routed_to = sorted(set(ROUTING.values()))
    for case_id in case_ids:
        if not ordering.get(case_id):
            patched = client.patch(f"/api/v1/cases/{case_id}", headers=clerk,
                                   json={"metadata": {"ordering_unit": rng.choice(routed_to)}})
            assert patched.status_code == 200, patched.get_json()
    completes: list[float] = []
    failures: Counter[str] = Counter()
    for case_id in case_ids:
        t = time.perf_counter()
        resp = client.post(f"/api/v1/tasks/{task_of[case_id]}/complete", headers=clerk,
                           json={"decision": "forward", "comment": ""})
        completes.append((time.perf_counter() - t) * 1000)
        if resp.status_code != 200 or resp.get_json()["entered"] != "sachlich":
            failures[f"{resp.status_code}: {(resp.get_json() or {}).get('detail')}"] += 1
    if intake_more:
        say(f"  intake (XRechnung)                          {fmt(intake_more)}")
    say(f"  POST /tasks/{{id}}/complete (forward)         {fmt(completes)}")
    if failures:
        say(f"  FAILED completions: {dict(failures)}")

    say("profile of one completion (forward):")
    new_case = intake(client, clerk, *blobs[0]).get_json()["case"]["id"]  # routed by its Leitweg-ID
    with rt.db.read() as session:
        fresh = session.execute(select(Task.id).where(Task.case_id == new_case, Task.status == "open")).scalar()
    rows, wall = log.capture(lambda: client.post(f"/api/v1/tasks/{fresh}/complete", headers=clerk,
                                                 json={"decision": "forward", "comment": ""}))
    print_statements(rows, wall, top=6)

    # --- summary --------------------------------------------------------------------------------------------------
    p95 = pct(plain, .95)
    per_row = sum(1 for sql, *_ in inbox_rows if "tasks.instance_id =" in sql or "FROM units" in sql
                  or ("FROM users" in sql and "users.id IN" in sql))
    all_intakes = [ms for times in per_kind.values() for ms in times] + intake_more
    summary = [
        (f"data           {world.counts['units']} units, {world.counts['users']} users, {args.tasks} open tasks "
         f"(+{world.counts['done tasks']} done), {world.counts['cases']} cases; PostgreSQL, {args.search} search; generated in {gen_s:.0f} s"),
        f"inbox          typical approver (unit {unit_code}, {body['total']} tasks in the inbox), limit=50:",
        f"                 {fmt(plain)}",
        (f"                 target p95 < {INBOX_TARGET_MS:.0f} ms: {'MET' if p95 < INBOX_TARGET_MS else 'MISSED'}"
         f" (p95 {p95:.1f} ms; {len(inbox_rows)} SQL statements per call, {per_row} of them per row in task_view)"),
        f"inbox filtered case_type=invoice&overdue=true ({fbody['total']} tasks):",
        f"                 {fmt(filtered)}",
        f"busiest inbox  clerk of {RECEIPT} ({bbody['total']} tasks):",
        f"                 {fmt(busy)}",
        "complete task  eingang → forward:",
        f"                 {fmt(completes)}" + (f"  ({sum(failures.values())} FAILED)" if failures else ""),
        (f"intake inline  {rate:.2f} invoices/s over the sample set ({len(samples)} files x {args.intake_rounds});"
         f" all {len(all_intakes)} intakes (jobs.backend = \"immediate\": each request extracts and commits the "
         f"index itself):"),
        f"                 {fmt(all_intakes)}",
        (f"intake queued  {served_rate:.2f} invoices/s answered, {caught_up_rate:.2f} invoices/s until extracted and "
         f"searchable (as `eakte serve` runs: embedded job queue, in-process consumer; {len(served)} intakes):"),
        f"                 {fmt(served)}",
        (f"                 target >= {INTAKE_TARGET:.0f} invoices/s until searchable: "
         f"{'MET' if caught_up_rate >= INTAKE_TARGET else 'MISSED'}"),
    ]
    say("\n" + "=" * 100 + "\nSUMMARY\n" + "\n".join(summary) + "\n" + "=" * 100)


if __name__ == "__main__":
    main()
