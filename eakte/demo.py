"""A demo municipality: units, users for every role, a file plan, and cases with real PDF documents."""
from __future__ import annotations

import datetime as dt
import io
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator

from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from eakte.config import Settings
from eakte.models import Case, Document, DocumentVersion, Procedure, Task, Unit
from eakte.runtime import Runtime
from eakte.services import adverse, cases, documents, extraction, fileplan, identity, invoices, procedures, workflow
from eakte.services.access import SYSTEM, Actor, Principal, load_principal

PASSWORD = "eakte-demo"
TOWN = "Gemeinde Musterstadt"  # fictional: the demo names no real municipality
# The demo's own debtor account for the payment export (the IBAN is the common documentation example, no real
# municipality's); an installation configures its own, without it the export refuses.
DEMO_DEBTOR = {"debtor_name": f"{TOWN} (Demo)", "debtor_iban": "DE89370400440532013000"}
DEMO_DATA = Path(__file__).parent / "demo_data"
# The Leitweg-IDs of the official XRechnung samples (fine part) all route to the Ordnungsamt in the demo, so an
# invoice taken in through the browser reaches an ordering unit's Postkorb without typing it.
DEMO_ROUTING = {part: "32" for part in ("12345", "12346", "12347", "12348", "12349", "12350", "18188", "01944",
                                        "05676")}
# The trade register's receipts, extracts and transmissions name the demo town (its key is made up, in Kreis
# Offenbach, whose recipients the built-in table lists) instead of the built-in default's real one.
DEMO_TRADE = {"municipality": TOWN, "municipality_key": "06438999",
              "letterhead": ["Der Gemeindevorstand", "Ordnungsamt – Gewerbeangelegenheiten", "Rathausplatz 1",
                             "12345 Musterstadt"]}

# The levy's letters and notices name the demo town and a clearly fictional cash-office account (the IBAN
# standard's example), so notices carry payment details without configuration.
DEMO_LEVY = {"municipality": TOWN, "letterhead": ["Der Gemeindevorstand", "Amt für Wohnungswesen – Fehlbelegungsabgabe",
                                                  "Rathausplatz 1", "12345 Musterstadt"],
             "payee_name": f"Stadtkasse {TOWN} (Demo)", "payee_iban": "DE89370400440532013000",
             "payee_bic": "COBADEFFXXX", "objection_authority": "Anhörungsausschuss beim Kreisausschuss (Demo)"}

UNITS = [("10", "Hauptamt"), ("11", "Personalamt"), ("11.1", "Beihilfestelle"), ("14", "Rechnungsprüfungsamt"),
         ("20", "Kämmerei"), ("32", "Ordnungsamt"), ("50", "Amt für Wohnungswesen")]

USERS = [  # username, display name, [(unit, role)]
    ("anna", "Anna Schäfer", [("20", "clerk")]),
    ("bernd", "Bernd Köhler", [("20", "approver"), ("20", "clerk")]),
    ("olga", "Olga Weiß", [("32", "clerk")]),
    ("petra", "Petra Müller", [("11", "clerk")]),                                  # Personalsachbearbeitung
    ("helga", "Helga Schneider", [("11", "clerk"), ("11", "head_of_unit")]),      # Leitung Personalamt
    ("beate", "Beate Hoffmann", [("11.1", "clerk")]),                             # Beihilfestelle
    ("erika", "Erika Muster", []),  # an employee: no unit, she sees only her own personnel file
    ("wilhelm", "Wilhelm Groß", [("50", "clerk"), ("50", "approver")]),
    ("lena", "Lena Hartmann", [("50", "clerk")]),  # the levy's second pair of eyes
    ("oskar", "Oskar Lehmann", [("32", "approver")]),
    ("heidi", "Heidi Vogel", [("32", "approver"), ("32", "head_of_unit")]),
    ("karl", "Karl Fischer", [("20", "clerk")]),
    ("rita", "Rita Brandt", [("14", "auditor")]),
    ("admin", "Administration", [("10", "admin")]),
]

FILE_PLAN = [("10", "Allgemeine Verwaltung", 10, "archive"), ("11", "Personal", 5, "archive"),
             ("11.10", "Personalakten", 5, "archive"), ("20", "Finanzen", 10, "archive"),
             ("20.30", "Rechnungen", 10, "destroy"), ("32", "Öffentliche Sicherheit und Ordnung", 10, "archive"),
             ("32.10", "Gewerbeangelegenheiten", 10, "archive"), ("50", "Wohnen", 10, "archive"),
             ("50.20", "Fehlbelegungsabgabe", 10, "archive")]

CASES = [  # file plan, unit, clerk, title, case type, [(document title, kind, pages of text)]
    ("20.30", "20", "anna", "Rechnung Bürobedarf Schreibwaren Hessen GmbH", "general",
     [("Rechnung RE-2026-0815", "invoice", ["Rechnung Nr. RE-2026-0815", "Lieferung von Büromaterial: "
       "Ordner, Kopierpapier, Kugelschreiber.", "Nettobetrag 1.250,00 EUR, Umsatzsteuer 19 % 237,50 EUR, "
       "Gesamtbetrag 1.487,50 EUR.", "Zahlbar innerhalb von 30 Tagen; 2 % Skonto bei Zahlung binnen 14 Tagen."]),
      ("Lieferschein LS-4711", "delivery_note", ["Lieferschein LS-4711", "Vollständig geliefert und geprüft."])]),
    ("20.30", "20", "anna", "Rechnung Wartung Heizungsanlage Rathaus", "general",
     [("Rechnung 2026-HZ-17", "invoice", ["Rechnung Wartung der Heizungsanlage im Rathaus",
       "Gesamtbetrag 3.808,00 EUR brutto, Leitweg-ID 06438012-0001-77."])]),
    # The trade businesses of unit 32 are real trade cases (TRADE_BUSINESSES below); this is the Ordnungsamt's
    # special-use permit for the café's tables, an ordinary case with procedures.
    ("32", "32", "olga", "Sondernutzung Außengastronomie Café am Marktplatz", "general",
     [("Antrag auf Sondernutzungserlaubnis", "document", ["Antrag auf Sondernutzungserlaubnis nach § 16 HStrG",
       "Sechs Tische und zwölf Stühle vor dem Café am Marktplatz, April bis Oktober."])]),
    # The housing office's levy files are real levy cases, one per flat (_seed_levy below).
]


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    roles: str
    token: str


def demo_settings(settings: Settings) -> Settings:
    """`settings` with the demo's fictional debtor account and its routing, and the demo town as the trade
    register's municipality, where none is configured."""
    invoice = dict(settings.case_types.get("invoice", {}))
    demo: dict[str, object] = {}
    if not (invoice.get("debtor_name") or invoice.get("debtor_iban")):
        demo.update(DEMO_DEBTOR)
    if not invoice.get("routing"):
        demo["routing"] = DEMO_ROUTING
    case_types = {**settings.case_types, "invoice": {**invoice, **demo}} if demo else dict(settings.case_types)
    trade = dict(settings.case_types.get("trade", {}))
    if not trade.get("municipality"):
        case_types["trade"] = {**DEMO_TRADE, **trade}
    levy = dict(settings.case_types.get("levy", {}))
    if not levy.get("payee_iban"):
        case_types["levy"] = {**DEMO_LEVY, **levy}
    if case_types == settings.case_types:
        return settings
    return replace(settings, case_types=case_types)


def seed_demo(rt: Runtime) -> list[Login]:
    """Seeds once (a second run only issues fresh tokens), so `eakte demo` can be restarted."""
    operator = Actor(Principal(SYSTEM.user_id, "demo-seed", {0: frozenset({"admin"})}), "demo")
    with rt.db.write() as session:
        seeded = session.execute(select(Unit).where(Unit.code == "20")).scalar() is not None
        if not seeded:
            for code, name in UNITS:
                identity.create_unit(session, operator, code, name)
            for username, display, roles in USERS:
                identity.create_user(session, operator, username, display_name=display, password=PASSWORD,
                                     roles=[identity.UnitRole(u, r) for u, r in roles], known_roles=rt.registry.roles)
            for code, title, years, disposal in FILE_PLAN:
                fileplan.add_node(session, operator, code, title, years, disposal)
    if not seeded:
        _seed_cases(rt)
        _seed_invoices(rt)
        _seed_personnel_files(rt)
        _seed_trade_register(rt)
        _seed_levy(rt)
    logins = []
    with rt.db.write() as session:
        for username, _display, roles in USERS:
            token = identity.issue_token(session, operator, identity.user_by_name(session, username), "demo")
            logins.append(Login(username, PASSWORD, ", ".join(f"{r}@{u}" for u, r in roles) or "employee (no unit)",
                                token))
    return logins


def _actor(rt: Runtime, session: Session, username: str) -> Actor:
    return Actor(load_principal(session, identity.user_by_name(session, username), rt.registry.restricted,
                                rt.settings.confidentiality), "demo")


def _seed_cases(rt: Runtime) -> None:
    for plan, unit, clerk, title, case_type, docs in CASES:
        with rt.db.write() as session:
            actor = _actor(rt, session, clerk)
            case = cases.create_case(session, actor, cases.NewCase(plan, title, unit, case_type), rt.registry)
        for doc_title, kind, paragraphs in docs:
            pdf = demo_pdf(doc_title, paragraphs)
            result = documents.add_document(rt, actor, case.id, documents.NewDocument(doc_title, kind),
                                            documents.Upload(io.BytesIO(pdf), f"{doc_title}.pdf", "application/pdf"))
            # The demo's documents should be searchable at once, before any job consumer runs.
            extraction.extract_version(rt, result.version.id)
        for proc_title, doc_title, paragraphs in PROCEDURES.get(title, []):
            procedure = procedures.open_procedure(rt, actor, case.id, proc_title)
            pdf = demo_pdf(doc_title, paragraphs)
            result = documents.add_document(rt, actor, case.id, documents.NewDocument(
                doc_title, "document", procedure_id=procedure.id),
                documents.Upload(io.BytesIO(pdf), f"{doc_title}.pdf", "application/pdf"))
            extraction.extract_version(rt, result.version.id)


# Procedures (Vorgänge) of a demo case, by its title: (procedure title, its document's title, text).
PROCEDURES = {
    "Sondernutzung Außengastronomie Café am Marktplatz": [
        ("Erlaubnis Außengastronomie", "Antrag auf Sondernutzung", [
            "Antrag auf Sondernutzungserlaubnis für sechs Tische vor dem Café am Marktplatz."]),
        ("Anhörung der Nachbarschaft", "Stellungnahme Nachbarschaft", [
            "Stellungnahme der Anwohner zu den Öffnungszeiten der Außengastronomie."]),
    ],
}


@dataclass(frozen=True)
class DemoDocument:
    title: str
    kind: str
    paragraphs: list[str]
    subfile: str | None = None  # None: the Grundakte
    by: str = "petra"  # who files it: the Beihilfe sub-file is the Beihilfestelle's


@dataclass(frozen=True)
class DemoPersonnelFile:
    metadata: dict[str, str]
    documents: list[DemoDocument]
    adverse: DemoDocument | None = None  # filed through the hearing flow: waits for the employee's hearing


# Two personnel files (fictional people): Erika Muster's, whose account lets her inspect it, and one with a
# warning awaiting the hearing. The title is made from name and personnel number.
PERSONNEL_FILES = [
    DemoPersonnelFile(
        {"personnel_number": "P-1001", "name": "Muster, Erika", "birth_date": "1984-06-15",
         "status_group": "Tarifbeschäftigte", "entry_date": "2012-04-01", "employing_unit": "32",
         "employee_user": "erika"},
        [DemoDocument("Arbeitsvertrag", "contract", [
            "Arbeitsvertrag nach TVöD", "Eingruppierung Entgeltgruppe 9a.",
            "Vertraulich: Personalakte, Zugriff nur für Personalsachbearbeitung."]),
         DemoDocument("Urlaubsantrag Sommer 2026", "leave", ["Erholungsurlaub vom 03.08. bis 21.08.2026."],
                      subfile="urlaub"),
         DemoDocument("Beihilfeantrag Zahnbehandlung", "beihilfe", [
             "Antrag auf Beihilfe zu Aufwendungen für eine Zahnbehandlung.",
             "Beigefügt: Rechnung der Zahnarztpraxis."], subfile="beihilfe", by="beate")]),
    DemoPersonnelFile(
        {"personnel_number": "P-1002", "name": "Beispiel, Jonas", "birth_date": "1979-11-02",
         "status_group": "Beamte", "entry_date": "2005-09-01", "employing_unit": "20"},
        [DemoDocument("Ernennungsurkunde", "contract", [
            "Ernennung zum Stadtinspektor unter Berufung in das Beamtenverhältnis auf Lebenszeit."])],
        adverse=DemoDocument("Missbilligung verspätete Kassenabrechnung", "warning", [
            "Missbilligung: Die Kassenabrechnung für Oktober 2026 wurde trotz Erinnerung verspätet vorgelegt.",
            "Ihnen wird Gelegenheit gegeben, sich innerhalb von zwei Wochen zu äußern."])),
]


def _seed_personnel_files(rt: Runtime) -> None:
    settings = rt.registry.get("personnel").settings  # type: ignore[union-attr]
    for demo in PERSONNEL_FILES:
        with rt.db.write() as session:
            actor = _actor(rt, session, "petra")
            case = cases.create_case(session, actor, cases.NewCase(
                settings["file_plan_code"], None, settings["personnel_unit"], "personnel", demo.metadata),
                rt.registry)
            subfiles = dict(session.execute(select(Procedure.subfile, Procedure.id).where(
                Procedure.case_id == case.id, Procedure.subfile.is_not(None))).all())
        for doc in demo.documents:
            with rt.db.read() as session:
                by = _actor(rt, session, doc.by)
            result = documents.add_document(rt, by, case.id, documents.NewDocument(
                doc.title, doc.kind, procedure_id=subfiles.get(doc.subfile) if doc.subfile else None),
                documents.Upload(io.BytesIO(demo_pdf(doc.title, doc.paragraphs)), f"{doc.title}.pdf",
                                 "application/pdf"))
            extraction.extract_version(rt, result.version.id)
        if demo.adverse is not None:
            item = adverse.file_item(rt, actor, case.id, adverse.NewAdverseItem(demo.adverse.title, demo.adverse.kind),
                                     documents.Upload(io.BytesIO(demo_pdf(demo.adverse.title,
                                                                          demo.adverse.paragraphs)),
                                                      f"{demo.adverse.title}.pdf", "application/pdf"))
            with rt.db.read() as session:
                version_ids = list(session.execute(select(DocumentVersion.id).where(
                    DocumentVersion.document_id == item.document_id)).scalars())
            for version_id in version_ids:
                extraction.extract_version(rt, version_id)


# Sample e-invoices and how far the demo takes each: (file, ordering unit, steps to decide as (user, decision)).
INVOICES = [
    ("01.01a-INVOICE_ubl.xml", "32", [("anna", "forward")]),                          # waits for oskar
    ("01.08a-INVOICE_ubl.xml", "32", [("anna", "forward"), ("oskar", "approve")]),    # waits at rechnerisch
    ("01.05a-INVOICE_ubl.xml", "32", []),                                             # waits at Rechnungseingang
]


def _seed_invoices(rt: Runtime) -> None:
    for name, ordering_unit, steps in INVOICES:
        actors = {}
        with rt.db.read() as session:
            for user in {"anna", *(u for u, _ in steps)}:
                actors[user] = _actor(rt, session, user)
        path = DEMO_DATA / name
        with path.open("rb") as fh:
            result = invoices.intake_invoice(rt, actors["anna"], documents.Upload(fh, name),
                                             duplicate_reason="Demo")
        with rt.db.write() as session:
            cases.update_case(session, actors["anna"], result.case.id,
                              cases.CaseChanges(metadata={"ordering_unit": ordering_unit}), rt.registry)
        extraction.extract_version(rt, result.ingested.version.id)
        for user, decision in steps:
            with rt.db.read() as session:
                task_id = session.execute(select(Task.id).where(Task.case_id == result.case.id,
                                                                Task.status == "open")).scalar_one()
            workflow.complete_task(rt, actors[user], task_id, decision)


# The trade register (issue 13): fictional businesses of the demo town, taken in and decided through the real
# trade services, so that their register entries and history, receipts (PDF/A) and transmissions exist.
@dataclass(frozen=True)
class DemoNotification:
    payload: dict[str, Any]      # as POST /api/v1/intake/trade takes it; a GewA 2/3 gets the business_id filled in
    decisions: tuple[str, ...]   # how far olga decides its steps ("transmitted": today, once its messages are sent)
    received_days_ago: int = 0   # received (and decided) that many days ago; the payload's effective_on is given
                                 # as days before that day
    scan: str | None = None      # title of the scanned paper form, filed in the procedure


def _person(family: str, given: str, born: str, nationality: str = "DE", role: str = "owner",
            street: str = "Lindenweg", number: str = "4") -> dict[str, Any]:
    return {"role": role, "family_name": family, "given_names": given, "birth_date": born,
            "birth_place": "Frankfurt am Main", "nationality": nationality, "street": street,
            "house_number": number, "postal_code": "12345", "city": "Musterstadt"}


TO_RECEIPT = ("accept", "complete", "register", "issued")  # then it waits in Datenübermittlung
TRADE_BUSINESSES: list[list[DemoNotification]] = [
    # Active: the paper form's scan in the procedure, the receipt filed, the transmissions sent (the statistics
    # office's is due on the first working day of next month, so the notification waits in Datenübermittlung).
    [DemoNotification({
        "notification": "anmeldung", "reason": "neuerrichtung", "effective_on": 14,
        "registered_name": "Café am Marktplatz", "legal_form": "einzelunternehmen",
        "street": "Marktplatz", "house_number": "3", "postal_code": "12345", "city": "Musterstadt",
        "phone": "06102 123456", "email": "kontakt@cafe-am-marktplatz.example",
        "persons": [_person("Sommer", "Lena", "1990-05-17")],
        "activity": "Betrieb eines Cafés mit Ausschank alkoholfreier Getränke und Verkauf von Backwaren",
        "activity_key": "56.30", "business_type": "sonstiges", "employees_full_time": 2,
        "employees_part_time": 3}, TO_RECEIPT, received_days_ago=6, scan="Gewerbeanmeldung GewA 1 (Scan)")],
    # Active and changed: a GmbH in the Handwerk (Handwerkskammer gets it), moved by a GewA 2; history shows both.
    [DemoNotification({
        "notification": "anmeldung", "reason": "neuerrichtung", "effective_on": 60,
        "registered_name": "Elektrotechnik Brandt GmbH", "legal_form": "gmbh",
        "register_court": "Amtsgericht Offenbach am Main", "register_number": "HRB 54321",
        "street": "Bahnhofstraße", "house_number": "12", "postal_code": "12345", "city": "Musterstadt",
        "persons": [_person("Brandt", "Tobias", "1978-09-02", role="manager", street="Gartenstraße", number="9")],
        "activity": "Elektroinstallation, Planung und Wartung elektrischer Anlagen", "activity_key": "43.21",
        "business_type": "handwerk", "handwerkskarte": True, "employees_full_time": 6,
        "employees_part_time": 1}, (*TO_RECEIPT, "transmitted"), received_days_ago=40),
     DemoNotification({
         "notification": "ummeldung", "reason": "verlegung", "effective_on": 7,
         "street": "Industriestraße", "house_number": "27", "postal_code": "12345", "city": "Musterstadt"},
         TO_RECEIPT, received_days_ago=3)],
    # Closed: a workshop given up soon after it opened; its GewA 3 decided to the end.
    [DemoNotification({
        "notification": "anmeldung", "reason": "uebernahme", "effective_on": 50,
        "registered_name": "Kfz-Werkstatt Schneider", "legal_form": "einzelunternehmen",
        "street": "Am Trieb", "house_number": "5", "postal_code": "12345", "city": "Musterstadt",
        "persons": [_person("Schneider", "Walter", "1961-02-11", street="Am Trieb", number="5")],
        "activity": "Instandhaltung und Reparatur von Kraftfahrzeugen", "activity_key": "45.20",
        "business_type": "handwerk", "handwerkskarte": True, "employees_full_time": 1},
        (*TO_RECEIPT, "transmitted"), received_days_ago=45),
     DemoNotification({"notification": "abmeldung", "reason": "aufgabe", "effective_on": 5},
                      (*TO_RECEIPT, "transmitted"), received_days_ago=2)],
    # The receipt still pending: received today, accepted, waiting in Prüfung in olga's Postkorb (due in three
    # days); a real-estate broker who has not yet shown the permit under GewO §34c the check names.
    [DemoNotification({
        "notification": "anmeldung", "reason": "neuerrichtung", "effective_on": 0,
        "registered_name": "Immobilienbüro Yılmaz", "legal_form": "einzelunternehmen",
        "street": "Luisenstraße", "house_number": "18", "postal_code": "12345", "city": "Musterstadt",
        "persons": [{**_person("Yılmaz", "Derya", "1986-12-03", nationality="TR", street="Luisenstraße",
                               number="18"), "residence_permit": True}],
        "activity": "Vermittlung von Wohnimmobilien (Immobilienmakler)", "activity_key": "68.31",
        "business_type": "sonstiges", "part_time": True}, ("accept",))],
]


def _seed_trade_register(rt: Runtime) -> None:
    """Plays the register's history at the days it happened (the clock moved back to each notification's day, so
    receipts, due dates and sending times are those of then), oldest first; then, today, sends what is due and
    decides the transmissions that are complete."""
    from eakte import clock
    from eakte.services.trade import intake, outbox

    today = clock.office_today()
    with rt.db.read() as session:
        olga = _actor(rt, session, "olga")
    plays = sorted(((demo.received_days_ago, b, i) for b, notes in enumerate(TRADE_BUSINESSES)
                    for i, demo in enumerate(notes)), key=lambda play: (-play[0], play[1], play[2]))
    business_ids: dict[int, str] = {}
    procedure_ids: dict[tuple[int, int], int] = {}
    restore = clock._now  # noqa: SLF001 - the clock in force (a test's moved one, or the system's) comes back
    try:
        for days, b, i in plays:
            demo = TRADE_BUSINESSES[b][i]
            at = dt.datetime.combine(today - dt.timedelta(days=days), dt.time(9, 30), clock.OFFICE_TZ)
            started = time.monotonic()
            clock.set_clock(lambda at=at, started=started: at + dt.timedelta(seconds=time.monotonic() - started))
            payload = {**demo.payload, "received_on": clock.office_today().isoformat(),
                       "effective_on": (clock.office_today()
                                        - dt.timedelta(days=int(demo.payload["effective_on"]))).isoformat()}
            if b in business_ids:
                payload["business_id"] = business_ids[b]
            result = intake.submit_notification(rt, olga, payload, source="web")
            business_ids[b] = str(result.case.metadata_["business_id"])
            procedure_ids[(b, i)] = result.procedure.id
            if demo.scan:
                pdf = demo_pdf(demo.scan, [f"{demo.scan} nach § 14 GewO", str(payload["registered_name"]),
                                           str(payload["activity"])])
                scanned = documents.add_document(
                    rt, olga, result.case.id, documents.NewDocument(demo.scan, "notification",
                                                                    procedure_id=result.procedure.id),
                    documents.Upload(io.BytesIO(pdf), f"{demo.scan}.pdf", "application/pdf"))
                extraction.extract_version(rt, scanned.version.id)
            for decision in demo.decisions:
                if decision != "transmitted":
                    _decide(rt, olga, result.procedure.id, decision)
            outbox.send_due(rt, clock.utcnow())  # what is due goes out that day, as the periodic job sends it
    finally:
        clock.set_clock(restore)
    outbox.send_due(rt, clock.utcnow())  # since then: the statistics office's messages of past months
    for _days, b, i in plays:
        if "transmitted" in TRADE_BUSINESSES[b][i].decisions:
            _decide(rt, olga, procedure_ids[(b, i)], "transmitted")
    # The receipts and messages the decisions filed: their text now, as for every other demo document (a running
    # server's worker would take them from the queue).
    with rt.db.read() as session:
        pending = list(session.execute(select(DocumentVersion.id).join(Document).join(Case)
                                       .where(Case.case_type == "trade", DocumentVersion.text_status == "pending"))
                       .scalars())
    for version_id in pending:
        extraction.extract_version(rt, version_id)


# The misallocation levy (issue 14): two landlords' lists surveyed through the real levy services, played at the
# days it happened. The first list's six households have all answered: one exempt (Wohngeld), one below the
# threshold and one in each band, taken as far as their row says (notice sent, objection pending, notice not yet
# sent, waiting for lena's four-eyes confirmation); the second list's two households have not answered and are
# overdue, so a clerk can record an answer, compute it and have it confirmed in the browser.
@dataclass(frozen=True)
class DemoHousehold:
    flat_id: str
    members: list[dict[str, Any]]  # as the household form takes them; the incomes are filled in from `above`
    above: int | None        # the household's income over its limit, in percent of it; None: all on transfer benefits
    evidence: str            # the title of the income evidence filed with the answer
    answered: int            # days ago: the answer is recorded (Erhebung decided)
    computed: int            # days ago: Prüfung complete, computed, Berechnung decided
    confirmed: int | None = None  # days ago: lena confirms (the notice is filed)
    sent: int | None = None       # days ago: the notice is marked sent (the levy runs)
    objection: int | None = None  # days ago: an objection (received the day before) is recorded


LEVY_SURVEY_DAYS_AGO = 45         # the landlord's list of the six answered households
LEVY_OVERDUE_SURVEY_DAYS_AGO = 35  # the second list, its deadline LEVY_OVERDUE_DAYS ago: nobody has answered
LEVY_OVERDUE_DAYS = 7
LEVY_LISTS = {"main": ("Gemeinnützige Wohnungsbau Musterstadt GmbH", "levy_landlord_list.csv"),
              "overdue": ("Baugenossenschaft Musterstadt eG", "levy_baugenossenschaft.csv")}


def _member(name: str, born: str, *, child: bool = False, tenant: bool = True,
            benefit: str | None = None) -> dict[str, Any]:
    return {"name": name, "birth_date": born, "child": child, "tenant": tenant and not child,
            "annual_income": None, "benefit": benefit}


LEVY_HOUSEHOLDS = [
    DemoHousehold("GWH-0014-01", [_member("Karl Schmidt", "1949-03-12", benefit="wohngeld")], None,
                  "Wohngeldbescheid", answered=38, computed=37, confirmed=36, sent=35),
    # 100 %: the flat's Höchstbetrag (4,86 € × 45 m²) is above its cap, so the cap is levied.
    DemoHousehold("GWH-0014-02", [_member("Anna Weber", "1990-07-21")], 90, "Gehaltsabrechnungen 2025",
                  answered=33, computed=32, confirmed=31, sent=30),
    DemoHousehold("GWH-0016-01", [_member("Petra Klein", "1975-02-08"), _member("Thomas Klein", "1973-11-30")], 70,
                  "Einkommensteuerbescheid 2024", answered=29, computed=28, confirmed=27, sent=26, objection=7),
    DemoHousehold("GWH-0012-03", [_member("Aylin Yilmaz", "1982-05-14"), _member("Mehmet Yilmaz", "1980-09-03"),
                                  _member("Elif Yilmaz", "2014-04-02", child=True),
                                  _member("Can Yilmaz", "2017-10-19", child=True)], 30,
                  "Lohnbescheinigungen 2025", answered=24, computed=23, confirmed=22, sent=10),
    DemoHousehold("GWH-0012-01", [_member("Erika Mustermann", "1958-12-01")], 10, "Rentenbescheid 2025",
                  answered=20, computed=19, confirmed=9),
    DemoHousehold("GWH-0012-02", [_member("Jana Beispiel", "1988-01-17"), _member("Max Beispiel", "1986-06-25")], 50,
                  "Gehaltsabrechnungen 2025", answered=16, computed=3),
]


@contextmanager
def _played_on(day: dt.date) -> Iterator[None]:
    """The clock moved to 9:30 on `day` (running on from there) while the block runs; the clock in force (a
    test's moved one, or the system's) comes back afterwards."""
    from eakte import clock
    restore = clock._now  # noqa: SLF001
    at = dt.datetime.combine(day, dt.time(9, 30), clock.OFFICE_TZ)
    started = time.monotonic()
    clock.set_clock(lambda: at + dt.timedelta(seconds=time.monotonic() - started))
    try:
        yield
    finally:
        clock.set_clock(restore)


def _levy_incomes(rt: Runtime, case_id: int, reference_date: dt.date, demo: DemoHousehold) -> list[dict[str, Any]]:
    """The members with incomes that put the household `demo.above` percent over its limit (the limit from the
    tables in force, as the computation will take it), shared among the adults."""
    from decimal import ROUND_HALF_UP, Decimal

    from eakte.services.levy.tables import active_tables
    from workflows.levy.compute import compute_levy
    from workflows.levy.household import levy_input
    members = [dict(m) for m in demo.members]
    if demo.above is None:
        return members
    adults = [m for m in members if not m["child"]]
    for m in adults:
        m["annual_income"] = "0.00"
    with rt.db.read() as session:
        flat = dict(session.get(Case, case_id).metadata_ or {})
        tables = active_tables(session).tables
    limit = compute_levy(levy_input(flat, {"members": members, "temporary_use": False}, reference_date, True),
                         tables).limit
    total = (limit * (100 + demo.above) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    share = (total / len(adults)).quantize(Decimal("0.01"))
    for m in adults:
        m["annual_income"] = f"{share:.2f}"
    adults[0]["annual_income"] = f"{total - share * (len(adults) - 1):.2f}"  # the cents left over
    return members


def _seed_levy(rt: Runtime) -> None:
    """The levy's surveys and households, each step at the day it happened (oldest first), through the levy
    services: survey run, household recorded with its evidence, decisions on the tasks, computation, wilhelm's
    computation confirmed by lena (the notice filed), notice sent, objection recorded."""
    from eakte.services.levy import assessment, household, objections
    from eakte.services.levy.survey import SurveyRequest, add_months, run_survey

    from eakte import clock

    today = clock.office_today()
    period_start = add_months(today.replace(day=1), 1)
    with rt.db.read() as session:
        wilhelm, lena = _actor(rt, session, "wilhelm"), _actor(rt, session, "lena")
    procedure_ids: dict[str, int] = {}
    case_ids: dict[str, int] = {}
    surveys = {"main": (LEVY_SURVEY_DAYS_AGO, None),
               "overdue": (LEVY_OVERDUE_SURVEY_DAYS_AGO, today - dt.timedelta(days=LEVY_OVERDUE_DAYS))}
    for key, (days, deadline) in surveys.items():
        landlord, name = LEVY_LISTS[key]
        run_day = today - dt.timedelta(days=days)
        with _played_on(run_day), (DEMO_DATA / name).open("rb") as fh:
            result = run_survey(rt, wilhelm, SurveyRequest(landlord=landlord, reference_date=run_day,
                                                           period_start=period_start, deadline=deadline,
                                                           source_name=name), fh)
        for h in result.households:
            procedure_ids[h.flat_id], case_ids[h.flat_id] = h.procedure_id, h.case_id
    reference = today - dt.timedelta(days=LEVY_SURVEY_DAYS_AGO)

    def answer(demo: DemoHousehold) -> None:
        pid = procedure_ids[demo.flat_id]
        members = _levy_incomes(rt, case_ids[demo.flat_id], reference, demo)
        household.record_household(rt, wilhelm, pid, {"members": members, "temporary_use": False})
        pdf = demo_pdf(demo.evidence, [f"{demo.evidence}, Wohnung {demo.flat_id}",
                                       "Nachweis zur Erhebung der Fehlbelegungsabgabe."], pages=1)
        documents.add_document(rt, wilhelm, case_ids[demo.flat_id], documents.NewDocument(
            demo.evidence, "income_evidence", procedure_id=pid),
            documents.Upload(io.BytesIO(pdf), f"{demo.evidence}.pdf", "application/pdf"))
        _decide(rt, wilhelm, pid, "answered")

    def compute(demo: DemoHousehold) -> None:
        pid = procedure_ids[demo.flat_id]
        _decide(rt, wilhelm, pid, "complete")
        assessment.compute(rt, wilhelm, pid)
        _decide(rt, wilhelm, pid, "computed")

    def object_to(demo: DemoHousehold) -> None:
        objections.file_objection(rt, wilhelm, procedure_ids[demo.flat_id], clock.office_today() - dt.timedelta(days=1),
                                  "Die Einkommen des Jahres 2025 sind durch Kurzarbeit niedriger als angegeben; "
                                  "Nachweise werden nachgereicht.")

    plays: list[tuple[int, int, Any]] = []
    for order, demo in enumerate(LEVY_HOUSEHOLDS):
        steps = [(demo.answered, answer), (demo.computed, compute),
                 (demo.confirmed, lambda d: _decide(rt, lena, procedure_ids[d.flat_id], "confirm")),
                 (demo.sent, lambda d: _decide(rt, wilhelm, procedure_ids[d.flat_id], "sent")),
                 (demo.objection, object_to)]
        plays.extend((days, order, (step, demo)) for days, step in steps if days is not None)
    for days, _order, (step, demo) in sorted(plays, key=lambda play: (-play[0], play[1])):
        with _played_on(today - dt.timedelta(days=days)):
            step(demo)
    # The letters and notices the services filed: their text now, as for every other demo document.
    with rt.db.read() as session:
        pending = list(session.execute(select(DocumentVersion.id).join(Document).join(Case)
                                       .where(Case.case_type == "levy", DocumentVersion.text_status == "pending"))
                       .scalars())
    for version_id in pending:
        extraction.extract_version(rt, version_id)


def _decide(rt: Runtime, actor: Actor, procedure_id: int, decision: str) -> None:
    with rt.db.read() as session:
        task_id = session.execute(select(Task.id).where(Task.procedure_id == procedure_id,
                                                        Task.status == "open")).scalar_one()
    workflow.claim_task(rt, actor, task_id)
    workflow.complete_task(rt, actor, task_id, decision)


def demo_pdf(title: str, paragraphs: list[str], pages: int = 2) -> bytes:
    """A real, multi-page PDF with extractable German text."""
    pdf = FPDF()
    pdf.set_title(title)
    for page in range(1, pages + 1):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        pdf.cell(0, 10, f"{TOWN} (Demo) - {title}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        pdf.cell(0, 6, f"Seite {page} von {pages}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
