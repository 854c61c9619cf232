"""Trade register load: intake rate of trade notifications through the API, p95 of the register search and of a
simple register extract, each beside a baseline.

Builds a register of BUSINESSES businesses with NOTIFICATIONS notifications (every business's Anmeldung, the rest
Ummeldungen and some Abmeldungen of active businesses) in the embedded default (SQLite, local blob store) in a
temporary data directory, or on PostgreSQL in a database of its own (--pg-url), then measures through the real
HTTP stack (Flask test client, a real API token of the trade clerk):

  * POST /api/v1/intake/trade for --api-sample notifications (Anmeldungen and Ummeldungen), as notifications/s,
    beside the generic case-creation API (POST /api/v1/cases) in the same unit;
  * GET /api/v1/trade/businesses?q=… for names, owners, streets, activities and business IDs, beside a bare SQL
    lookup of the same words over the same rows;
  * GET /api/v1/trade/businesses/{id}/extract?kind=simple (a PDF/A from WeasyPrint, logged), beside a bare
    WeasyPrint rendering of the same four lines without template, database or log.

The bulk of the register is built in-process through the trade services, which is faster than the API: each
notification by intake.submit_notification, and (with --decide off, the default) entered in the register by
register.register_notification directly — entry, history and the case's mirror as the Eintragung writes them,
but without the workflow's receipt PDF and transmissions. With --decide on each bulk notification is decided
step by step (claim and complete: accept, complete, register, issued) as clerks would, receipt and
transmissions included: slow (one WeasyPrint PDF and a message per recipient each), for small registers.

    python benchmarks/trade.py [--businesses 500] [--notifications 1500] [--api-sample 100] [--decide off|on]
                               [--searches 200] [--extracts 50] [--pg-url URL]
Full size (issue 13): --businesses 20000 --notifications 60000.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, text  # noqa: E402

from benchmarks._common import DEFAULT_PG, fmt, pct, say, temporary_database  # noqa: E402
from benchmarks._german import STREETS, SURNAMES  # noqa: E402
from eakte.app import create_app  # noqa: E402
from eakte.bootstrap import build_runtime  # noqa: E402
from eakte.clock import office_today  # noqa: E402
from eakte.config import DatabaseSettings, JobsSettings, Settings  # noqa: E402
from eakte.models import Case, Procedure, Task  # noqa: E402
from eakte.runtime import Runtime  # noqa: E402
from eakte.services import fileplan, identity, workflow  # noqa: E402
from eakte.services.access import SYSTEM, Actor, Principal, load_principal  # noqa: E402

OPERATOR = Actor(Principal(SYSTEM.user_id, "benchmark", {0: frozenset({"admin"})}), "benchmark")
UNIT, PLAN = "32", "32.10"
TOWN, POSTAL_CODE = "Musterstadt", "63263"

GIVEN_NAMES = ("Erika Jonas Anna Bernd Olga Petra Helga Beate Wilhelm Oskar Heidi Karl Rita Lena Paul Mia Ben Emma "
               "Noah Hannah Elias Lea Finn Marie Leon Sophie Luca Emilia Aylin Mehmet Agnieszka Piotr Giulia").split()
NAME_WORDS = ("Bäckerei Café Friseur Elektro Sanitär Malerbetrieb Autohaus Blumen Buchhandlung Kiosk Reinigung "
              "Schreinerei Dachdecker Optik Apotheke Weinhandel Feinkost Metzgerei Fahrrad Computer Consulting "
              "Physio Kosmetik Tattoo Pizzeria Eiscafé Reisebüro Fotostudio Umzüge Transporte Druckerei").split()
SUFFIXES = ("am Markt", "im Zentrum", "Hugenotten", "Isenburg", "Süd", "Nord", "am Bahnhof", "Express", "Service",
            "& Söhne", "Team", "Studio", "Werkstatt", "Haus", "Ecke", "Treff")
# (activity, WZ 2008 key, business type, permits the activity needs: brokers and the like, GewO §§34c, 34d)
ACTIVITIES = (
    ("Einzelhandel mit Lebensmitteln", "47.11", "handel", []),
    ("Betrieb eines Cafés mit Ausschank alkoholfreier Getränke", "56.30", "sonstiges", []),
    ("Elektroinstallation", "43.21", "handwerk", []),
    ("Friseursalon", "96.02", "handwerk", []),
    ("Entwicklung und Vertrieb von Software", "62.01", "sonstiges", []),
    ("Instandhaltung und Reparatur von Kraftfahrzeugen", "45.20", "handwerk", []),
    ("Versandhandel mit Bekleidung über das Internet", "47.91", "handel", []),
    ("Herstellung von Backwaren", "10.71", "industrie", []),
    ("Gebäudereinigung", "81.21", "sonstiges", []),
    ("Vermittlung von Versicherungen", "66.22", "sonstiges", ["34d"]),
    ("Vermittlung von Wohnimmobilien (Immobilienmakler)", "68.31", "sonstiges", ["34c"]),
    ("Hausmeisterdienste und Gartenpflege", "81.30", "sonstiges", []),
    ("Großhandel mit Baustoffen", "46.73", "handel", []),
    ("Maler- und Lackierarbeiten", "43.34", "handwerk", []),
)
UMMELDUNG_REASONS = ("verlegung", "taetigkeit", "erweiterung", "name")
CLOSING_SHARE = 0.15  # share of the notifications after the Anmeldungen that are Abmeldungen
DECISIONS = ("accept", "complete", "register", "issued")  # eingang … empfangsbescheinigung


# --- generated notifications ---------------------------------------------------------------------------------

@dataclass
class Register:
    """What the generator knows about the businesses it has notified (to pick targets and search words)."""
    active: list[str] = field(default_factory=list)  # business IDs
    index: dict[str, int] = field(default_factory=dict)  # business ID → position in `active`
    case_of: dict[str, int] = field(default_factory=dict)  # business ID → case id
    names: list[str] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)
    closed: int = 0

    def add(self, business_id: str, case_id: int) -> None:
        self.index[business_id] = len(self.active)
        self.active.append(business_id)
        self.case_of[business_id] = case_id

    def close(self, business_id: str) -> None:
        i = self.index.pop(business_id)
        last = self.active.pop()
        if last != business_id:
            self.active[i] = last
            self.index[last] = i
        self.closed += 1


class Generator:
    """Deterministic payloads of the shape POST /api/v1/intake/trade takes (see the OpenAPI document)."""

    def __init__(self, rng: random.Random, today: dt.date) -> None:
        from workflows.trade.notification import LEGAL_FORMS, REGISTERED_FORMS
        self.rng, self.today = rng, today
        registered = set(REGISTERED_FORMS)
        self.plain_forms = [k for k, _ in LEGAL_FORMS if k not in registered]
        self.registered_forms = [k for k, _ in LEGAL_FORMS if k in registered]
        self.n = 0

    def _date_back(self, days: int, least: int = 0) -> str:
        return (self.today - dt.timedelta(days=self.rng.randint(least, days))).isoformat()

    def person(self) -> dict[str, Any]:
        r = self.rng
        born = self.today - dt.timedelta(days=r.randint(20 * 365, 70 * 365))
        return {"role": "owner", "family_name": r.choice(SURNAMES), "given_names": r.choice(GIVEN_NAMES),
                "birth_date": born.isoformat(), "birth_place": r.choice(("Frankfurt am Main", "Offenbach am Main",
                                                                          "Darmstadt", "Kassel", "Izmir", "Krakau")),
                "nationality": r.choice(("DE",) * 8 + ("TR", "PL")), "street": r.choice(STREETS),
                "house_number": str(r.randint(1, 120)), "postal_code": POSTAL_CODE, "city": TOWN}

    def anmeldung(self) -> dict[str, Any]:
        r = self.rng
        self.n += 1
        activity, key, btype, permits = r.choice(ACTIVITIES)
        owner = self.person()
        name = f"{r.choice(NAME_WORDS)} {owner['family_name']} {r.choice(SUFFIXES)} {self.n}"
        payload: dict[str, Any] = {
            "notification": "anmeldung", "received_on": self._date_back(2), "effective_on": self._date_back(30, 11),
            "reason": "neuerrichtung", "registered_name": name, "street": r.choice(STREETS),
            "house_number": str(r.randint(1, 200)), "postal_code": POSTAL_CODE, "city": TOWN,
            "persons": [owner], "activity": activity, "activity_key": key, "business_type": btype,
            "part_time": r.random() < .2, "employees_full_time": r.randint(0, 12),
            "employees_part_time": r.randint(0, 5), "permits": list(permits),
        }
        if self.registered_forms and r.random() < .35:
            payload.update(legal_form=r.choice(self.registered_forms), register_court="Amtsgericht Offenbach am Main",
                           register_number=f"HRB {r.randint(10000, 99999)}")
        else:
            payload["legal_form"] = r.choice(self.plain_forms)
        return payload

    # A change or an end is dated at most 10 days back, a start at least 11: never before the business began.
    def ummeldung(self, business_id: str) -> dict[str, Any]:
        r = self.rng
        reason = r.choice(UMMELDUNG_REASONS)
        payload: dict[str, Any] = {"notification": "ummeldung", "business_id": business_id, "reason": reason,
                                   "received_on": self._date_back(1), "effective_on": self._date_back(10)}
        if reason == "verlegung":
            payload.update(street=r.choice(STREETS), house_number=str(r.randint(1, 200)), postal_code=POSTAL_CODE,
                           city=TOWN)
        elif reason in ("taetigkeit", "erweiterung"):
            activity, key, btype, permits = r.choice(ACTIVITIES)
            payload.update(activity=activity, activity_key=key, business_type=btype, permits=list(permits))
        else:
            payload["employees_full_time"] = r.randint(0, 20)
        return payload

    def abmeldung(self, business_id: str) -> dict[str, Any]:
        return {"notification": "abmeldung", "business_id": business_id, "reason": "aufgabe",
                "received_on": self._date_back(1), "effective_on": self._date_back(10)}

    def follow_up(self, register: Register) -> dict[str, Any]:
        target = self.rng.choice(register.active)
        if self.rng.random() < CLOSING_SHARE and len(register.active) > 1:
            return self.abmeldung(target)
        return self.ummeldung(target)


# --- the town -------------------------------------------------------------------------------------------------

@dataclass
class Town:
    rt: Runtime
    clerk: Actor
    token: str
    headers: dict[str, str]


def build_town(data_dir: Path, database_url: str) -> Town:
    # No consumer runs: the index jobs wait in the queue, so the figures are the request's own cost (a running
    # `eakte serve` indexes in its worker threads meanwhile). The register search is SQL, it needs no index.
    settings = Settings(data_dir=data_dir, database=DatabaseSettings(url=database_url),
                        jobs=JobsSettings(backend="sqlite", in_process=False))
    rt = build_runtime(settings)
    data_dir.mkdir(parents=True, exist_ok=True)
    rt.db.upgrade()
    with rt.db.write() as session:
        identity.create_unit(session, OPERATOR, UNIT, "Ordnungsamt")
        fileplan.add_node(session, OPERATOR, "32", "Öffentliche Sicherheit und Ordnung", 10)
        fileplan.add_node(session, OPERATOR, PLAN, "Gewerbeangelegenheiten", 10)
        user = identity.create_user(session, OPERATOR, "olga", roles=[identity.UnitRole(UNIT, "clerk")],
                                    known_roles=rt.registry.roles)
        token = identity.issue_token(session, OPERATOR, user, "benchmark")
        clerk = Actor(load_principal(session, user, rt.registry.restricted), "127.0.0.1")
    return Town(rt, clerk, token, {"Authorization": f"Bearer {token}"})


# --- building the register ------------------------------------------------------------------------------------

def submit(town: Town, payload: dict[str, Any], decide: bool) -> tuple[str, int, int]:
    """One notification through the services: (business ID, case id, procedure id)."""
    from eakte.services.trade import intake
    result = intake.submit_notification(town.rt, town.clerk, payload, source="import")
    case_id, procedure_id = result.case.id, result.procedure.id
    if decide:
        decide_all(town, procedure_id)
    else:
        register_directly(town, case_id, procedure_id)
    return str(result.case.metadata_["business_id"]), case_id, procedure_id


def register_directly(town: Town, case_id: int, procedure_id: int) -> None:
    from eakte.services.trade import register
    with town.rt.db.write() as session:
        case, procedure = session.get(Case, case_id), session.get(Procedure, procedure_id)
        register.register_notification(session, town.clerk, case, procedure)


def open_task(town: Town, procedure_id: int) -> int | None:
    with town.rt.db.read() as session:
        return session.execute(select(Task.id).where(Task.procedure_id == procedure_id, Task.status == "open")
                               .order_by(Task.id.desc())).scalars().first()


def decide_all(town: Town, procedure_id: int) -> None:
    """Eingang → … → Datenübermittlung as clerks decide it (the receipt PDF and the transmissions included)."""
    for decision in DECISIONS:
        task_id = open_task(town, procedure_id)
        assert task_id is not None, (procedure_id, decision)
        workflow.claim_task(town.rt, town.clerk, task_id)
        workflow.complete_task(town.rt, town.clerk, task_id, decision)


def build_register(town: Town, gen: Generator, n_businesses: int, n_notifications: int, decide: bool,
                   progress: Callable[[int, float], None]) -> tuple[Register, float]:
    reg = Register()
    start = time.perf_counter()
    for i in range(n_notifications):
        payload = gen.anmeldung() if i < n_businesses else gen.follow_up(reg)
        business_id, case_id, _ = submit(town, payload, decide)
        if payload["notification"] == "anmeldung":
            reg.add(business_id, case_id)
            reg.names.append(payload["registered_name"])
            reg.owners.append(payload["persons"][0]["family_name"])
        elif payload["notification"] == "abmeldung":
            reg.close(business_id)
        if (i + 1) % 1000 == 0:
            progress(i + 1, time.perf_counter() - start)
    return reg, time.perf_counter() - start


# --- measurements ---------------------------------------------------------------------------------------------

def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


def api_intake(client: Any, town: Town, gen: Generator, reg: Register, n: int) -> tuple[list[float], float, dict]:
    """n notifications through POST /api/v1/intake/trade: a third Anmeldungen, the rest Ummeldungen."""
    times: list[float] = []
    kinds: dict[str, list[float]] = {"anmeldung": [], "ummeldung": []}
    start = time.perf_counter()
    for i in range(n):
        payload = gen.anmeldung() if i % 3 == 0 else gen.ummeldung(gen.rng.choice(reg.active))
        ms, resp = timed(lambda: client.post("/api/v1/intake/trade", headers=town.headers, json=payload))
        assert resp.status_code == 201, (resp.status_code, resp.get_json())
        times.append(ms)
        kinds[payload["notification"]].append(ms)
    return times, time.perf_counter() - start, kinds


def api_case_creation(client: Any, town: Town, n: int) -> tuple[list[float], float]:
    """The baseline: the generic case-creation API, n general cases in the same unit and file plan node."""
    times = []
    start = time.perf_counter()
    for i in range(n):
        body = {"file_plan_code": PLAN, "title": f"Sondernutzung Außengastronomie {i}", "unit": UNIT}
        ms, resp = timed(lambda: client.post("/api/v1/cases", headers=town.headers, json=body))
        assert resp.status_code == 201, (resp.status_code, resp.get_json())
        times.append(ms)
    return times, time.perf_counter() - start


def search_terms(reg: Register, rng: random.Random, n: int) -> list[str]:
    """Words a clerk types: a business name word, an owner's family name, a street, an activity word, an ID."""
    pools: list[Callable[[], str]] = [
        lambda: rng.choice(reg.names).split()[0], lambda: rng.choice(reg.owners), lambda: rng.choice(STREETS),
        lambda: rng.choice(ACTIVITIES)[0].split()[-1], lambda: rng.choice(reg.active),
        lambda: " ".join(rng.choice(reg.names).split()[:2]),
    ]
    return [pools[i % len(pools)]() for i in range(n)]


def api_search(client: Any, town: Town, terms: list[str]) -> tuple[list[float], list[int]]:
    times, totals = [], []
    for term in terms:
        ms, resp = timed(lambda: client.get("/api/v1/trade/businesses", headers=town.headers,
                                            query_string={"q": term, "limit": 25}))
        assert resp.status_code == 200, (resp.status_code, resp.get_json())
        times.append(ms)
        totals.append(int(resp.get_json().get("total", 0)))
    return times, totals


def sql_search(rt: Runtime, terms: list[str]) -> list[float]:
    """The baseline: one bare SQL lookup per word over the same rows (title and metadata, case-insensitive,
    first 25 by title and the count), no permissions, no ORM, no JSON."""
    times = []
    page = text("SELECT id, title, metadata FROM cases WHERE case_type = 'trade' AND (lower(title) LIKE :q OR "
                "lower(CAST(metadata AS TEXT)) LIKE :q) ORDER BY title LIMIT 25")
    count = text("SELECT count(*) FROM cases WHERE case_type = 'trade' AND (lower(title) LIKE :q OR "
                 "lower(CAST(metadata AS TEXT)) LIKE :q)")
    with rt.db.engine.connect() as conn:
        for term in terms:
            q = f"%{term.lower()}%"
            ms, _ = timed(lambda: (conn.execute(page, {"q": q}).all(), conn.execute(count, {"q": q}).scalar()))
            times.append(ms)
    return times


def api_extract(client: Any, town: Town, case_ids: list[int]) -> tuple[list[float], int]:
    times, size = [], 0
    for i, case_id in enumerate(case_ids):
        ms, resp = timed(lambda: client.get(f"/api/v1/trade/businesses/{case_id}/extract", headers=town.headers,
                                            query_string={"kind": "simple", "purpose": "Auskunft an Bürger",
                                                          "reference": f"Anfrage {i}"}))
        assert resp.status_code == 200, (resp.status_code, resp.get_data()[:300])
        assert resp.get_data().startswith(b"%PDF")
        times.append(ms)
        size += len(resp.get_data())
    return times, size // max(1, len(case_ids))


def bare_weasyprint(n: int) -> list[float]:
    """The baseline: WeasyPrint renders the simple extract's four lines from a bare HTML string (no PDF/A, no
    template, no fonts configured, no database, no retrieval log)."""
    from weasyprint import HTML
    html = ("<html><body><h1>Auszug aus dem Gewerberegister</h1><p>Inhaber: Muster, Erika</p>"
            "<p>Betrieb: Café am Markt</p><p>Betriebsstätte: Marktplatz 1, 63263 Musterstadt</p>"
            "<p>Tätigkeit: Betrieb eines Cafés</p></body></html>")
    HTML(string=html).write_pdf()  # warm-up: fonts and the CSS machinery load once
    return [timed(lambda: HTML(string=html).write_pdf())[0] for _ in range(n)]


def api_decide(client: Any, town: Town, gen: Generator, n: int) -> dict[str, list[float]]:
    """n fresh Anmeldungen decided through the API (claim + complete): the time of each decision; "register" also
    renders and files the receipt (PDF/A), "issued" creates the transmissions."""
    out: dict[str, list[float]] = {d: [] for d in DECISIONS}
    for _ in range(n):
        resp = client.post("/api/v1/intake/trade", headers=town.headers, json=gen.anmeldung())
        assert resp.status_code == 201, resp.get_json()
        procedure_id = int(resp.get_json()["procedure"]["id"])
        for decision in DECISIONS:
            task_id = open_task(town, procedure_id)
            assert task_id is not None
            claim = client.post(f"/api/v1/tasks/{task_id}/claim", headers=town.headers)
            assert claim.status_code in (200, 204), claim.get_json()
            ms, done = timed(lambda: client.post(f"/api/v1/tasks/{task_id}/complete", headers=town.headers,
                                                 json={"decision": decision}))
            assert done.status_code == 200, (decision, done.status_code, done.get_json())
            out[decision].append(ms)
    return out


# --- the run --------------------------------------------------------------------------------------------------

def ratio(a: float, b: float) -> str:
    return f"{a / b:6.2f} x" if b else "   n/a"


def run(town: Town, args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    gen = Generator(rng, office_today())
    n_b, n_n = args.businesses, max(args.notifications, args.businesses)
    say(f"building the register: {n_b} businesses, {n_n} notifications through the services "
        f"(decide {args.decide}) …")

    def progress(done: int, seconds: float) -> None:
        say(f"  {done:6d} notifications  {done / seconds:6.1f}/s")

    reg, seconds = build_register(town, gen, n_b, n_n, args.decide == "on", progress)
    say(f"  built in {seconds:.1f} s: {n_n / seconds:.1f} notifications/s through the services in-process; "
        f"{len(reg.active)} active, {reg.closed} closed")

    client = create_app(town.rt).test_client()
    say(f"\nintake through the API: {args.api_sample} notifications (a third Anmeldungen) …")
    api_intake(client, town, gen, reg, min(10, args.api_sample))  # warm-up: first requests build caches
    intake_times, intake_s, kinds = api_intake(client, town, gen, reg, args.api_sample)
    case_times, case_s = api_case_creation(client, town, args.api_sample)

    terms = search_terms(reg, rng, args.searches)
    api_search(client, town, terms[:10])  # warm-up
    search_times, totals = api_search(client, town, terms)
    sql_times = sql_search(town.rt, terms)

    sample = rng.sample(list(reg.case_of.values()), k=min(args.extracts, len(reg.case_of)))
    api_extract(client, town, sample[:3])  # warm-up: the template and the fonts load once
    extract_times, extract_size = api_extract(client, town, sample)
    weasy_times = bare_weasyprint(min(args.extracts, 30))

    decide_times = api_decide(client, town, gen, args.decide_sample) if args.decide_sample else {}

    with town.rt.db.read() as session:
        businesses = session.execute(select(func.count()).select_from(Case).where(Case.case_type == "trade")).scalar()
        procedures = session.execute(select(func.count()).select_from(Procedure).join(Case)
                                     .where(Case.case_type == "trade")).scalar()

    n = args.api_sample
    intake_rate, case_rate = n / intake_s, n / case_s
    say(f"\nregister:          {businesses} businesses, {procedures} notifications (procedures) "
        f"({town.rt.settings.database_url.split(':')[0]}; bulk built in-process, see above)")
    say(f"intake API:        {intake_rate:7.1f} notifications/s   {fmt(intake_times)}")
    say(f"  Anmeldung        {fmt(kinds['anmeldung'])}")
    say(f"  Ummeldung        {fmt(kinds['ummeldung'])}")
    say(f"baseline cases:    {case_rate:7.1f} cases/s           {fmt(case_times)}   (POST /api/v1/cases)")
    say(f"ratio intake:      {ratio(case_rate, intake_rate)} the time of a generic case creation")
    say(f"search API:        {fmt(search_times)}   (hits: median {statistics.median(totals):.0f}, "
        f"max {max(totals)})")
    say(f"baseline SQL:      {fmt(sql_times)}   (bare LIKE over title and metadata)")
    say(f"ratio search p95:  {ratio(pct(search_times, .95), pct(sql_times, .95))} the bare SQL lookup")
    say(f"extract API:       {fmt(extract_times)}   (simple, PDF/A, {extract_size / 1024:.0f} KiB)")
    say(f"baseline PDF:      {fmt(weasy_times)}   (bare WeasyPrint, same four lines)")
    say(f"ratio extract p95: {ratio(pct(extract_times, .95), pct(weasy_times, .95))} the bare rendering")
    for decision, times in decide_times.items():
        say(f"decide {decision:11s} {fmt(times)}")
    if args.businesses < 20000 or args.notifications < 60000:
        per = seconds / n_n
        say(f"full size (20000 businesses, 60000 notifications): the bulk would take about "
            f"{60000 * per / 60:.0f} min at this run's rate ({per * 1000:.1f} ms per notification; "
            f"the rate falls as the register grows)")


@contextmanager
def data_location(args: argparse.Namespace) -> Iterator[tuple[Path, str]]:
    with tempfile.TemporaryDirectory(prefix="eakte-bench-trade-") as tmp:
        if args.pg_url:
            with temporary_database(args.pg_url, "eakte_bench_trade") as url:
                yield Path(tmp) / "data", url
        else:
            yield Path(tmp) / "data", ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--businesses", type=int, default=500)
    parser.add_argument("--notifications", type=int, default=1500)
    parser.add_argument("--api-sample", type=int, default=100, help="notifications through the intake API")
    parser.add_argument("--decide", choices=("off", "on"), default="off",
                        help="on: decide every bulk notification's steps (receipt PDF, transmissions)")
    parser.add_argument("--decide-sample", type=int, default=10,
                        help="fresh Anmeldungen decided through the API to the transmission step (0: none)")
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--extracts", type=int, default=50)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--pg-url", nargs="?", const=DEFAULT_PG, default="",
                        help=f"PostgreSQL server instead of SQLite (default with the flag: {DEFAULT_PG})")
    args = parser.parse_args()
    logging.getLogger("eakte.case_types").setLevel(logging.ERROR)  # the town has no invoice or personnel units
    with data_location(args) as (data_dir, url):
        town = build_town(data_dir, url)
        try:
            run(town, args)
        finally:
            town.rt.close()


if __name__ == "__main__":
    main()
