"""The demo's trade register (issue 13 point 7): businesses taken in and decided through the real trade services —
one whose receipt is still pending, one closed by an Abmeldung, the others active with their receipts filed and
their transmissions made and sent — olga as the trade clerk's login, the demo town (not the built-in default's
real one) on the letters, and the recipient table of `config.example.toml` loading as the built-in one."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from eakte.config import load_settings
from eakte.demo import TOWN, demo_settings, seed_demo
from eakte.errors import EakteError, Forbidden
from eakte.models import Case, Document, DocumentVersion, Procedure, Task, TradeEntry, TradeTransmission, WorkflowInstance
from eakte.services import identity, workflow
from eakte.services.access import Actor, load_principal
from tests.conftest import make_runtime
from workflows.registry import load_registry
from workflows.trade.recipients import DEFAULT_RECIPIENTS, checked_recipients

ROOT = Path(__file__).resolve().parents[1]
RECEIPT_STEPS = ("eingang", "pruefung", "eintragung", "empfangsbescheinigung")


def _seeded(tmp_path: Path, db_url: str):  # type: ignore[no-untyped-def]
    rt = make_runtime(tmp_path, db_url)
    rt.settings = demo_settings(rt.settings)  # as `eakte demo` does, before the case types load
    return rt, {login.username: login for login in seed_demo(rt)}


def test_demo_seeds_the_trade_register_through_the_services(tmp_path: Path, db_url: str) -> None:
    rt, logins = _seeded(tmp_path, db_url)
    try:
        assert logins["olga"].roles == "clerk@32" and logins["olga"].token
        with rt.db.read() as session:
            businesses = {c.metadata_["registered_name"]: c for c in session.execute(
                select(Case).where(Case.case_type == "trade")).scalars()}
            assert set(businesses) == {"Café am Marktplatz", "Elektrotechnik Brandt GmbH",
                                       "Kfz-Werkstatt Schneider", "Immobilienbüro Yılmaz"}
            assert all(c.unit.code == "32" for c in businesses.values())
            # The former general "Gewerbeanmeldung/-abmeldung" cases are gone; the café's special-use permit
            # stays an ordinary case with its procedures.
            general = {c.title: c.id for c in session.execute(
                select(Case).where(Case.case_type == "general", Case.unit.has(code="32"))).scalars()}
            assert not any(t.startswith(("Gewerbeanmeldung", "Gewerbeabmeldung")) for t in general)
            permit_procs = session.execute(select(Procedure.title).where(
                Procedure.case_id == general["Sondernutzung Außengastronomie Café am Marktplatz"])).scalars().all()
            assert "Erlaubnis Außengastronomie" in permit_procs

            def state(name: str) -> dict:  # type: ignore[type-arg]
                case = businesses[name]
                procs = list(session.execute(select(Procedure).where(Procedure.case_id == case.id)
                                             .order_by(Procedure.id)).scalars())
                out = {"case": case, "procedures": []}
                for proc in procs:
                    instance = session.execute(select(WorkflowInstance).where(
                        WorkflowInstance.procedure_id == proc.id)).scalar_one()
                    open_steps = session.execute(select(Task.step).where(Task.procedure_id == proc.id,
                                                                         Task.status == "open")).scalars().all()
                    kinds = session.execute(select(Document.kind).where(Document.procedure_id == proc.id)
                                            ).scalars().all()
                    sent = dict(session.execute(select(TradeTransmission.recipient, TradeTransmission.status)
                                                .where(TradeTransmission.procedure_id == proc.id)).all())
                    out["procedures"].append({"kind": proc.metadata_.get("notification"), "instance": instance,
                                              "open": open_steps, "kinds": kinds, "transmissions": sent})
                out["entries"] = [e.data for e in session.execute(
                    select(TradeEntry).where(TradeEntry.case_id == case.id).order_by(TradeEntry.version)).scalars()]
                return out

            pending = state("Immobilienbüro Yılmaz")
            [anmeldung] = pending["procedures"]
            assert pending["case"].metadata_["status"] == "pending" and pending["entries"] == []
            assert len(anmeldung["open"]) == 1 and anmeldung["open"][0] in RECEIPT_STEPS
            assert "receipt" not in anmeldung["kinds"] and anmeldung["transmissions"] == {}

            for name in ("Café am Marktplatz", "Elektrotechnik Brandt GmbH"):
                active = state(name)
                assert active["case"].metadata_["status"] == "active" and active["case"].status == "open"
                for proc in active["procedures"]:
                    assert proc["kinds"].count("receipt") == 1
                    assert "transmission" in proc["kinds"]
                    assert proc["transmissions"] and "sent" in proc["transmissions"].values()
                    # what is still pending is only what is not yet due (the statistics office: next month)
                    assert set(proc["transmissions"].values()) <= {"sent", "pending"}
            cafe = state("Café am Marktplatz")
            assert "notification" in cafe["procedures"][0]["kinds"]  # the scanned paper form
            brandt = state("Elektrotechnik Brandt GmbH")
            assert [p["kind"] for p in brandt["procedures"]] == ["anmeldung", "ummeldung"]
            first, second = brandt["entries"]
            assert first["street"] == "Bahnhofstraße" and second["street"] == "Industriestraße"
            assert "Industriestraße" in brandt["case"].metadata_["business_address"]

            closed = state("Kfz-Werkstatt Schneider")
            assert closed["case"].metadata_["status"] == "closed" and closed["case"].metadata_["closed_on"]
            assert closed["case"].status == "closed"
            abmeldung = closed["procedures"][-1]
            assert abmeldung["kind"] == "abmeldung" and abmeldung["instance"].status == "completed"
            assert abmeldung["open"] == [] and set(abmeldung["transmissions"].values()) == {"sent"}
            assert closed["entries"][-1]["status"] == "closed"

            receipts = session.execute(select(Document).where(Document.kind == "receipt",
                                                              Document.case_id == businesses["Café am Marktplatz"].id)
                                       ).scalars().all()
            assert len(receipts) == 1
            version = session.execute(select(DocumentVersion).where(
                DocumentVersion.document_id == receipts[0].id)).scalar_one()
            with rt.blobs.open(version.blob_key) as fh:
                pdf = fh.read()
        # The directory drop (the default sender) holds the sent messages, one folder per recipient.
        drop = rt.settings.data_dir / "trade-outbox"
        assert drop.is_dir() and any(p.is_file() for p in drop.rglob("*"))
        reader = PdfReader(io.BytesIO(pdf))
        assert b"pdfaid:part" in reader.trailer["/Root"]["/Metadata"].get_data()  # a PDF/A: its XMP says so
        assert "Café am Marktplatz" in "".join(page.extract_text() for page in reader.pages)
        # The demo's letters name the demo town, not the built-in default's.
        assert rt.registry.get("trade").settings["municipality"] == TOWN  # type: ignore[union-attr]

        # A second start seeds nothing again.
        again = seed_demo(rt)
        assert {l.username for l in again} == set(logins)
        with rt.db.read() as session:
            assert len(session.execute(select(Case.id).where(Case.case_type == "trade")).all()) == 4
    finally:
        rt.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the seeding itself runs on both
def test_only_the_trade_clerks_decide_the_demo_notification(tmp_path: Path, db_url: str) -> None:
    """anna (Kämmerei) and heidi (approver, head of the Ordnungsamt, not a clerk there) may not take the pending
    notification's step or file a notification; olga may."""
    rt, _ = _seeded(tmp_path, db_url)
    try:
        with rt.db.read() as session:
            def actor(name: str) -> Actor:
                return Actor(load_principal(session, identity.user_by_name(session, name), rt.registry.restricted,
                                            rt.settings.confidentiality), "test")
            anna, olga = actor("anna"), actor("olga")
            case_id = session.execute(select(Case.id).where(Case.case_type == "trade", Case.title.like(
                "%Yılmaz%"))).scalar_one()
            task_id = session.execute(select(Task.id).where(Task.case_id == case_id, Task.status == "open")
                                      ).scalar_one()
        from eakte.services.trade import intake
        with pytest.raises(EakteError):
            workflow.claim_task(rt, anna, task_id)
        with pytest.raises(Forbidden):
            intake.submit_notification(rt, anna, {"notification": "abmeldung", "business_id": "GW-0", "reason":
                                                  "aufgabe", "effective_on": "2026-01-01"}, source="test")
        workflow.claim_task(rt, olga, task_id)  # the trade clerk may
    finally:
        rt.close()


def _uncommented_trade_block(example: str) -> str:
    """The commented `[case_types.trade]` block of the example, uncommented (the file shows it commented: a
    fresh install needs nothing of it)."""
    lines = example.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# [case_types.trade]"))
    block = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        body = line[2:] if line.startswith("# ") else line[1:]
        if body.startswith((" ", "#")) or not body.strip():  # a comment of the example itself
            continue
        block.append(body)
    return "\n".join(block) + "\n"


def test_the_example_trade_settings_load_and_hold_the_built_in_recipients(tmp_path: Path) -> None:
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    assert load_settings(ROOT / "config.example.toml", environ={}).case_types == {}  # all of it commented
    config = tmp_path / "eakte.toml"
    config.write_text(_uncommented_trade_block(example), encoding="utf-8")
    settings = load_settings(config, environ={})
    trade = settings.case_types["trade"]
    assert trade["unit"] == "32" and trade["file_plan_code"] == "32.10" and trade["letterhead"]
    assert re.fullmatch(r"\d{8}", trade["municipality_key"])
    loaded = load_registry(settings.case_types).types["trade"].settings
    assert loaded["recipients"] == checked_recipients(DEFAULT_RECIPIENTS)
    assert {r["key"] for r in trade["recipients"]} == {r["key"] for r in DEFAULT_RECIPIENTS}
