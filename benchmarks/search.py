"""Search at scale: whoosh and PostgreSQL side by side on 100,000 generated German documents.

Builds a town in a PostgreSQL database of its own (by bulk COPY): units, one clerk per unit, an auditor, cases of
six case types (personnel files restricted to the personnel office) and DOCS documents of 300–800 words of
municipal German (`benchmarks/_german.py`) with their extracted text. Then, for each backend:

  * a full `eakte search reindex` in a child process: wall time and the process's peak memory (target < 1 GB);
  * p50/p95 of searches through the search service (the access filter built from the caller's memberships, as
    for every API call; facets, snippets and the exact total included) for a clerk of one unit and an auditor:
    a rare word, a common word, phrases, a prefix, a case reference and a faceted query with filters;
  * the delay until a change is searchable: a new version of a document is uploaded (text/plain with a new
    word) and the search is repeated until it finds the word; the text extraction and the index update run as
    jobs in an in-process consumer, as in the embedded default.

    python benchmarks/search.py [--docs 100000] [--backends whoosh,postgres] [--samples 100] [--pg-url URL]
Targets on whoosh: p95 < 100 ms for term queries, < 300 ms for phrases; reindex peak < 1 GB.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, text

from benchmarks._common import DEFAULT_PG, copy_rows, fmt, pct, say, temporary_database
from benchmarks._german import SURNAMES, GermanText
from eakte.clock import utcnow
from eakte.config import DatabaseSettings, JobsSettings, SearchSettings, Settings
from eakte.models import Case, CaseCounter, Document, FilePlanNode, Unit, User
from eakte.bootstrap import build_runtime
from eakte.runtime import Runtime
from eakte.services import documents, search
from eakte.services.access import SYSTEM, Actor, Principal, load_principal
from search import Filters
from workflows.definition import CaseType
from workflows.registry import load_registry

OPERATOR = Actor(Principal(SYSTEM.user_id, "benchmark", {0: frozenset({"admin"})}), "benchmark")
RARE = "Zisternenverordnung"  # planted in RARE_DOCS documents across all units, nowhere else
RARE_DOCS = 60

UNITS = {"10": "Hauptamt", "11": "Personalamt", "20": "Kämmerei", "32": "Ordnungsamt", "33": "Gewerbeamt",
         "50": "Amt für Soziales und Wohnen", "60": "Bauaufsicht", "61": "Stadtplanung"}
# case type → (share of cases, units, file-plan node, document kinds)
CASE_TYPES: dict[str, tuple[float, tuple[str, ...], str, tuple[str, ...]]] = {
    "invoice": (.30, ("20",), "20.30", ("invoice", "note", "attachment")),
    "permit": (.20, ("60", "61"), "60.10", ("application", "notice", "letter", "plan", "note")),
    "trade": (.15, ("33", "32"), "32.20", ("application", "notice", "letter")),
    "levy": (.10, ("50",), "50.40", ("notice", "letter", "proof", "note")),
    "personnel": (.05, ("11",), "11.10", ("contract", "assessment", "letter", "note")),
    "general": (.20, tuple(UNITS), "10.00", ("letter", "note", "minutes", "attachment")),
}
FILE_PLAN = [("10", "Allgemeine Verwaltung", None), ("10.00", "Allgemeines", "10"), ("11", "Personal", None),
             ("11.10", "Personalakten", "11"), ("20", "Finanzen", None), ("20.30", "Rechnungen", "20"),
             ("32", "Sicherheit und Ordnung", None), ("32.20", "Gewerbe", "32"), ("50", "Soziales", None),
             ("50.40", "Fehlbelegungsabgabe", "50"), ("60", "Bauen", None), ("60.10", "Bauanträge", "60")]
PERSONNEL = CaseType(key="personnel", label_de="Personalakte", label_en="Personnel file", open_schema=True,
                     restricted=True)
EXTRA_TYPES = {k: CaseType(key=k, label_de=k, label_en=k, open_schema=True) for k in ("permit", "trade", "levy")}


@dataclass(frozen=True)
class Town:
    clerks: dict[str, int]  # unit code → user id of a clerk of that unit only
    auditor: int
    documents: int
    references: dict[str, list[str]]  # unit code → a sample of its case references
    by_unit: dict[str, int]  # documents per unit


@dataclass(frozen=True)
class Query:
    label: str
    q: str
    filters: Filters = Filters()
    kind: str = "term"  # term / phrase: which target applies


# --- the town -------------------------------------------------------------------------------------------------


def generate(rt: Runtime, n_docs: int, rng: random.Random) -> Town:
    now = utcnow()
    unit_ids = {code: i for i, code in enumerate(UNITS, start=1)}
    with rt.db.engine.begin() as conn:
        conn.execute(insert(Unit), [{"id": unit_ids[c], "code": c, "name": n, "created_at": now}
                                    for c, n in UNITS.items()])
        node_ids: dict[str, int] = {}
        for i, (code, title, parent) in enumerate(FILE_PLAN, start=1):
            node_ids[code] = i
            conn.execute(insert(FilePlanNode).values(id=i, code=code, title=title, parent_id=node_ids.get(parent or ""),
                                                     retention_years=10, disposal="archive", created_at=now))
    users = [(1, "admin", [("10", "admin")])]
    users += [(i, f"clerk{code}", [(code, "clerk")]) for i, code in enumerate(UNITS, start=2)]
    auditor = len(users) + 1
    users.append((auditor, "auditor", [("10", "auditor")]))
    german = GermanText(rng)
    types = list(CASE_TYPES)
    weights = [CASE_TYPES[t][0] for t in types]
    rare_docs = set(rng.sample(range(1, n_docs + 1), k=min(RARE_DOCS, n_docs)))
    counters: dict[tuple[str, int], int] = {}
    references: dict[str, list[str]] = {code: [] for code in UNITS}
    by_unit: dict[str, int] = dict.fromkeys(UNITS, 0)

    raw_pool = rt.db.engine.raw_connection()
    raw: Any = raw_pool.driver_connection
    try:
        copy_rows(raw, "users", ["id", "username", "display_name", "email", "is_active", "created_at"],
                  ((uid, name, name, f"{name}@example.org", True, now) for uid, name, _ in users))
        copy_rows(raw, "memberships", ["id", "user_id", "unit_id", "role"],
                  ((n, uid, unit_ids[code], role) for n, (uid, code, role) in enumerate(
                      ((uid, code, role) for uid, _, roles in users for code, role in roles), start=1)))
        case_rows: list[tuple[Any, ...]] = []
        doc_rows: list[tuple[Any, ...]] = []
        version_rows: list[tuple[Any, ...]] = []
        text_rows: list[tuple[Any, ...]] = []
        doc_id = 0
        case_id = 0
        t0 = time.perf_counter()
        while doc_id < n_docs:
            case_id += 1
            ctype = rng.choices(types, weights=weights)[0]
            _, units, node, kinds = CASE_TYPES[ctype]
            unit = rng.choice(units)
            created = now - dt.timedelta(days=rng.uniform(1, 8 * 365))
            year = created.year
            counters[(node, year)] = number = counters.get((node, year), 0) + 1
            reference = f"{node}/{number:04d}/{year}"
            if len(references[unit]) < 100:
                references[unit].append(reference)
            person = f"{rng.choice(SURNAMES)}"
            title, meta = _case_title(ctype, person, case_id, rng)
            status = "closed" if created < now - dt.timedelta(days=365) and rng.random() < .7 else "open"
            case_rows.append((case_id, reference, node_ids[node], year, number, title, ctype, unit_ids[unit], status,
                              json.dumps(meta), created, 1, created))
            for _ in range(rng.randint(1, 7)):
                if doc_id >= n_docs:
                    break
                doc_id += 1
                kind = rng.choice(kinds)
                when = created + dt.timedelta(days=rng.uniform(0, 60))
                extra = [f"Betreff: {title}.", f"Aktenzeichen {reference}."]
                if doc_id in rare_docs:
                    extra.append(f"Die {RARE} der Stadt ist zu beachten.")
                body = german.document(ctype, rng.randint(300, 800), extra)
                doc_rows.append((doc_id, case_id, f"{kind.capitalize()} {person} {doc_id}", kind, when.date(), when, 1,
                                 1))
                version_rows.append((doc_id, doc_id, 1, f"bench/{doc_id}", f"{doc_id:064x}", len(body),
                                     "application/pdf", f"dokument-{doc_id}.pdf", 1, when, "done"))
                text_rows.append((doc_id, body))
                by_unit[unit] += 1
            if len(doc_rows) >= 5000 or doc_id >= n_docs:
                copy_rows(raw, "cases", ["id", "reference", "file_plan_node_id", "year", "number", "title", "case_type",
                                         "unit_id", "status", "metadata", "created_at", "created_by", "updated_at"],
                          case_rows)
                copy_rows(raw, "documents", ["id", "case_id", "title", "kind", "document_date", "created_at",
                                             "created_by", "current_version"], doc_rows)
                copy_rows(raw, "document_versions", ["id", "document_id", "number", "blob_key", "sha256", "size",
                                                     "mime_type", "filename", "uploaded_by", "uploaded_at",
                                                     "text_status"], version_rows)
                copy_rows(raw, "extracted_texts", ["version_id", "text"], text_rows)
                raw.commit()
                case_rows, doc_rows, version_rows, text_rows = [], [], [], []
                rate = doc_id / (time.perf_counter() - t0)
                print(f"\r  {doc_id:>7} documents ({rate:.0f}/s)", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
    finally:
        raw_pool.close()
    with rt.db.engine.begin() as conn:
        conn.execute(insert(CaseCounter), [{"file_plan_node_id": node_ids[node], "year": year, "last_number": n}
                                           for (node, year), n in counters.items()])
        for table in ("units", "users", "memberships", "file_plan_nodes", "cases", "documents", "document_versions"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"))
    with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        conn.execute(text("CHECKPOINT"))
    clerks = {code: uid for uid, _, roles in users for code, role in roles if role == "clerk"}
    return Town(clerks, auditor, doc_id, references, by_unit)


def _case_title(ctype: str, person: str, case_id: int, rng: random.Random) -> tuple[str, dict[str, str]]:
    if ctype == "invoice":
        meta = {"invoice_number": f"RE-{case_id:07d}", "seller_name": f"{person} GmbH",
                "amount_due": f"{rng.uniform(10, 20000):.2f}"}
        return f"Rechnung {meta['invoice_number']} {meta['seller_name']}", meta
    if ctype == "permit":
        meta = {"applicant": person, "parcel": f"Flur {rng.randint(1, 40)}, Flurstück {rng.randint(1, 999)}"}
        return f"Bauantrag {person}, {meta['parcel']}", meta
    if ctype == "trade":
        meta = {"business": f"{person} {rng.choice(['Bäckerei', 'Gaststätte', 'Friseur', 'Kiosk', 'Handel'])}"}
        return f"Gewerbeanmeldung {meta['business']}", meta
    if ctype == "levy":
        meta = {"tenant": person, "flat": f"Wohnung {rng.randint(1, 3000)}"}
        return f"Fehlbelegungsabgabe {person}, {meta['flat']}", meta
    if ctype == "personnel":
        meta = {"employee": person, "personnel_number": f"P{case_id:06d}"}
        return f"Personalakte {person}", meta
    return f"Allgemeiner Schriftverkehr {person}", {}


# --- measurements ---------------------------------------------------------------------------------------------


def reindex(settings_env: dict[str, str]) -> tuple[float, float, str]:
    """`eakte search reindex` in a child process: (seconds, peak RSS in MB, its last line)."""
    env = {**os.environ, **settings_env}
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "eakte"), "search", "reindex"], env=env,
                            stdout=subprocess.PIPE, stderr=None, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"reindex failed with exit code {proc.returncode}: {out.strip()}")
    return seconds, usage.ru_maxrss / 1024, out.strip().splitlines()[-1]


def time_queries(rt: Runtime, actor: Actor, query: Query, samples: int) -> tuple[list[float], int, dict]:
    hits, page = search.search(rt, actor, query.q, query.filters)  # warm-up; also the totals shown
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        search.search(rt, actor, query.q, query.filters)
        times.append((time.perf_counter() - t0) * 1000)
    return times, page.total, page.facets


def update_delays(rt: Runtime, actor: Actor, n: int, doc_ids: list[int]) -> list[float]:
    """Seconds from the start of a new version's upload until the search finds its new word."""
    delays = []
    for i, document_id in enumerate(doc_ids[:n]):
        word = f"Prüfvermerk{os.getpid()}x{i}q{time.monotonic_ns()}"
        body = f"Neue Fassung mit dem {word} zur Akte genommen.".encode()
        t0 = time.perf_counter()
        documents.add_version(rt, actor, document_id, documents.Upload(io.BytesIO(body), "neu.txt", "text/plain"))
        while True:
            _, page = search.search(rt, actor, word, Filters(), limit=1)
            if page.total:
                break
            if time.perf_counter() - t0 > 60:
                raise SystemExit(f"update of document {document_id} not searchable after 60 s")
            time.sleep(0.01)
        delays.append(time.perf_counter() - t0)
    return delays


def actor_of(rt: Runtime, user_id: int) -> Actor:
    with rt.db.read() as session:
        user = session.get(User, user_id)
        assert user is not None
        return Actor(load_principal(session, user, rt.registry.restricted), "benchmark")


def queries(town: Town, unit: str, rng: random.Random) -> list[Query]:
    reference = rng.choice(town.references[unit])
    return [
        Query("rare word", RARE),
        Query("common word", "Rechnung"),
        Query("two words (AND)", "Widerspruch Gebühr"),
        Query("2-word phrase", '"Widerspruch erhoben"', kind="phrase"),
        Query("3-word phrase", '"Antrag auf Erteilung"', kind="phrase"),
        Query("5-word phrase", '"Antrag auf Erteilung einer Baugenehmigung"', kind="phrase"),
        Query("prefix", "Gewerbe*"),
        Query("case reference", reference),
        Query("faceted+filters", "Bescheid", Filters(status="open", date_from=dt.date(2022, 1, 1),
                                                     date_to=dt.date(2025, 12, 31))),
    ]


def run_backend(name: str, url: str, data_dir: Path, town: Town, args: argparse.Namespace,
                rng: random.Random) -> dict[str, Any]:
    env = {"EAKTE_DATA_DIR": str(data_dir), "EAKTE_DATABASE_URL": url, "EAKTE_SEARCH__BACKEND": name}
    say(f"\n[{name}] full reindex of {town.documents} documents (eakte search reindex, a child process) …")
    seconds, peak_mb, line = reindex(env)
    say(f"  {line}  {seconds:.0f} s = {town.documents / seconds:.0f} docs/s, peak memory {peak_mb:.0f} MB")
    settings = Settings(data_dir=data_dir, database=DatabaseSettings(url=url), search=SearchSettings(backend=name),
                        jobs=JobsSettings(backend="sqlite", workers=2))
    rt = build_runtime(settings)
    rt.__dict__["registry"] = load_registry({}, extra={"personnel": PERSONNEL, **EXTRA_TYPES})
    consumer = rt.jobs.consumer()
    consumer.start()
    results: dict[str, Any] = {"reindex_s": seconds, "peak_mb": peak_mb, "queries": {}}
    try:
        clerk_unit = "60"
        clerk = actor_of(rt, town.clerks[clerk_unit])
        auditor = actor_of(rt, town.auditor)
        say(f"  searches ({args.samples} each; clerk of unit {clerk_unit}: {town.by_unit[clerk_unit]} documents "
            f"visible; auditor: all but personnel files):")
        for query in queries(town, clerk_unit, random.Random(args.seed)):
            for who, actor in (("clerk", clerk), ("auditor", auditor)):
                times, total, facets = time_queries(rt, actor, query, args.samples)
                results["queries"][(query.label, who)] = (times, total)
                say(f"    {query.label:<17} {who:<8} {fmt(times)}  total {total}")
        # The word planted in every unit: outside the clerk's unit nothing may be counted.
        _, page = search.search(rt, clerk, RARE, Filters())
        leaked = {k: v for k, v in page.facets.get("unit", {}).items() if k != clerk_unit}
        if leaked:
            raise SystemExit(f"access filter broken: the clerk's facets count other units {leaked}")
        say(f"  delay until a new version is searchable ({args.updates} uploads by the clerk, extraction and "
            f"index update as jobs):")
        with rt.db.read() as session:
            own = list(session.execute(
                select(Document.id).join(Case, Case.id == Document.case_id).join(Unit, Unit.id == Case.unit_id)
                .where(Unit.code == clerk_unit, Case.status == "open").order_by(Document.id)
                .limit(args.updates * 10)).scalars())
        rng.shuffle(own)
        delays = update_delays(rt, clerk, args.updates, own)
        results["delays"] = delays
        say(f"    {fmt([d * 1000 for d in delays])}")
    finally:
        consumer.stop_and_wait()
        rt.close()
    return results


def summary(results: dict[str, dict[str, Any]], town: Town, gen_s: float) -> None:
    names = list(results)
    say(f"\nSummary: {town.documents} documents (300–800 words), {len(UNITS)} units, {len(CASE_TYPES)} case types; "
        f"generated in {gen_s:.0f} s. Latencies in ms (p50 / p95), through the search service with the access "
        f"filter, facets and snippets.")
    say(f"{'':<28}" + "".join(f"{n:>24}" for n in names))
    say(f"{'reindex time':<28}" + "".join(f"{results[n]['reindex_s']:>22.0f} s" for n in names))
    say(f"{'reindex peak memory':<28}" + "".join(f"{results[n]['peak_mb']:>21.0f} MB" for n in names))
    keys = list(results[names[0]]["queries"])
    for label, who in keys:
        cells = []
        for n in names:
            times, total = results[n]["queries"][(label, who)]
            cells.append(f"{pct(times, .5):>7.1f} / {pct(times, .95):>6.1f} ({total:>5})")
        say(f"{label + ' (' + who + ')':<28}" + "".join(f"{c:>24}" for c in cells))
    say(f"{'update searchable after':<28}" + "".join(
        f"{pct(results[n]['delays'], .5) * 1000:>7.0f} / {pct(results[n]['delays'], .95) * 1000:>6.0f} ms   "
        for n in names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000, help="documents to generate (default 100000)")
    parser.add_argument("--backends", default="whoosh,postgres", help="comma-separated (default whoosh,postgres)")
    parser.add_argument("--samples", type=int, default=100, help="timed searches per query and user (default 100)")
    parser.add_argument("--updates", type=int, default=20, help="uploads for the update delay (default 20)")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL server (a database is created on it)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends or set(backends) - {"whoosh", "postgres"}:
        parser.error("--backends: whoosh and/or postgres")
    rng = random.Random(args.seed)
    with temporary_database(args.pg_url, "eakte_bench_search") as url, tempfile.TemporaryDirectory() as tmp:
        rt = build_runtime(Settings(data_dir=Path(tmp) / "setup", database=DatabaseSettings(url=url)))
        try:
            rt.db.upgrade()
            say(f"generating {args.docs} documents on PostgreSQL …")
            t0 = time.perf_counter()
            town = generate(rt, args.docs, rng)
            gen_s = time.perf_counter() - t0
            say(f"  {town.documents} documents; per unit: " + ", ".join(f"{k}: {v}" for k, v in town.by_unit.items()))
        finally:
            rt.close()
        results = {}
        for name in backends:
            results[name] = run_backend(name, url, Path(tmp) / name, town, args, rng)
        summary(results, town, gen_s)


if __name__ == "__main__":
    main()
