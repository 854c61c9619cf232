"""Payments of the levy: what each notice makes due, what came in (typed in, or imported from the cash office's
CSV), the balance of a procedure and the arrears of all.

- Expected: each sent notice's monthly amount on the 1st of every month from its effective day to the end of its
  period, or to the day before a later notice replaces it (workflows.levy.deadlines.monthly_schedule). A notice
  not yet sent binds nobody and makes nothing due.
- The cash office's CSV (`Buchungsnummer;Buchungsdatum;Betrag;Verwendungszweck`, decimal comma, dates
  TT.MM.JJJJ, UTF-8 or Windows-1252) is checked whole before anything is booked: a malformed file books nothing
  (422 naming the line and column). Of a well-formed file, a line whose booking number was imported already (or
  comes twice) is skipped as a duplicate, a line whose Verwendungszweck names no levy procedure the importing clerk
  may book to is skipped as unmatched; both are reported, the rest booked in one transaction.
- A payment typed in by hand and the cash office's line for the same money count once: a matched line of the
  same amount within MATCH_DAYS of a typed-in payment of that procedure not yet confirmed supersedes it (the
  booking number and the bank's day are kept, the typed-in entry drops out of the balance). The other way round,
  typing in what is booked already (imported, or typed in before: the same amount within MATCH_DAYS) is refused
  unless the clerk says it is another payment.
- A payment is never changed or deleted (the database refuses it): a wrong one is reversed (Storno) with a
  reason, which books a reversal row naming it; both drop out of the balance. A reversal is not reversed in turn
  (the payment is recorded again), nor is a payment the cash office's line confirmed (that line counts in its
  place).
- Who: clerks of the levy unit (and admins) record, import and reverse; auditors read the balances and the
  arrears. Every payment is audited ("levy.payment.record", "levy.payment.reverse"), an import also as a whole
  ("levy.payments.import")."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from eakte.clock import office_today, utcnow
from eakte.errors import Conflict, Forbidden, Invalid, NotFound, PayloadTooLarge, PaymentBookedAlready
from eakte.models import Case, LevyNotice, LevyPayment, Procedure, User
from eakte.runtime import Runtime
from eakte.services import audit
from eakte.services.access import Actor, Principal, can_change_case, can_view_case, visible_cases_filter
from eakte.services.levy.common import CASE_TYPE, levy_procedure, levy_type, levy_unit, required_text
from eakte.services.levy.notices import euro
from workflows.levy.deadlines import month_start, monthly_schedule

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("100000.00")  # far above any monthly levy: a typo in the thousands, not a payment
MAX_IMPORT_BYTES = 5 * 1024 * 1024
REFERENCE_MAX = 140  # LevyPayment.reference (a SEPA remittance line)
NOTE_MAX = 500  # LevyPayment.note (a reversal's reason)
MATCH_DAYS = 14  # a typed-in payment and the cash office's booking of it lie at most this far apart
BOOKING_MAX = 64  # LevyPayment.booking_id
CSV_COLUMNS = ("Buchungsnummer", "Buchungsdatum", "Betrag", "Verwendungszweck")
# A procedure reference: the case's (plan code/number/year) and the procedure's number, e.g. 50.20/0001/2026-1.
REFERENCE_RE = re.compile(r"(?<![\w./-])(\d+(?:\.\d+)*/\d+/\d{4}-\d+)(?![\w/-])")
_AMOUNT_RE = re.compile(r"^\+?(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d{1,2}))?$")


# --- money and dates ----------------------------------------------------------------------------------------

def parse_amount(value: Decimal | str, field_name: str = "amount") -> Decimal:
    """A payment's amount: positive, at most two decimals (a Decimal, "147.60" or "147,60")."""
    try:
        if isinstance(value, Decimal):
            d = value
        else:
            text = str(value).strip().replace("\u00a0", "").replace(" ", "")
            german = _AMOUNT_RE.match(text)
            if german:
                d = Decimal(german.group(1).replace(".", "") + "." + (german.group(2) or "0"))
            elif re.fullmatch(r"\+?\d+(\.\d{1,2})?", text):
                d = Decimal(text)
            else:
                raise InvalidOperation
    except (InvalidOperation, ValueError):
        raise Invalid(f"{field_name} is not an amount of money", field=field_name,
                      detail_de="Der Betrag ist kein gültiger Geldbetrag (z. B. 147,60)") from None
    # The size first: quantizing a number of more than 28 digits raises instead of answering.
    if d.is_finite() and d > MAX_AMOUNT:
        raise Invalid(f"{field_name} exceeds {MAX_AMOUNT}", field=field_name,
                      detail_de=f"Der Betrag ist größer als {MAX_AMOUNT:.2f} €")
    if not d.is_finite() or d != d.quantize(CENT):
        raise Invalid(f"{field_name} must have at most two decimals", field=field_name,
                      detail_de="Der Betrag darf höchstens zwei Nachkommastellen haben")
    if d <= 0:
        raise Invalid(f"{field_name} must be positive", field=field_name,
                      detail_de="Der Betrag muss größer als 0 sein")
    return d.quantize(CENT)


def money(text: str | None) -> Decimal:
    """A stored decimal text ("147.60") as a Decimal (0 when missing)."""
    try:
        return Decimal(text or "0")
    except InvalidOperation:
        return Decimal("0")


def _csv_date(text: str) -> dt.date:
    for fmt in ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


# --- who may ------------------------------------------------------------------------------------------------

def _require_booker(session: Session, rt: Runtime, p: Principal) -> None:
    unit = levy_unit(session, levy_type(rt))
    if not (p.is_admin or p.has_role(unit.id, "clerk")):
        raise Forbidden("booking levy payments needs the clerk role in the levy unit",
                        detail_de=f"Zahlungen der Fehlbelegungsabgabe bucht die Sachbearbeitung in {unit.name}")


def _require_reader(session: Session, rt: Runtime, p: Principal) -> None:
    unit = levy_unit(session, levy_type(rt))
    if not (p.is_admin or p.is_auditor or p.has_role(unit.id, "clerk")):
        raise Forbidden("the levy's payments are for the levy unit's clerks and auditors",
                        detail_de=f"Die Zahlungen der Fehlbelegungsabgabe sieht die Sachbearbeitung in {unit.name} "
                                  "und die Rechnungsprüfung")


# --- the schedule and the balance ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Due:
    due_on: dt.date
    amount: Decimal
    notice_id: int
    notice_kind: str


@dataclass(frozen=True)
class PaymentEntry:
    id: int
    procedure_id: int
    paid_on: dt.date
    amount: Decimal
    reference: str | None
    booking_id: str | None
    source: str  # manual | import | reversal
    recorded_at: dt.datetime
    recorded_by: str | None
    supersedes_id: int | None = None  # a reversal's payment, or the typed-in payment an imported line confirms
    note: str | None = None  # a reversal's reason
    superseded_by: int | None = None  # the reversal, or the imported line, that took this payment's place
    superseded_as: str | None = None  # reversal | import

    @property
    def counts(self) -> bool:
        """Whether the payment is in the balance: not a reversal, not reversed, not confirmed by an import."""
        return self.source != "reversal" and self.superseded_by is None


@dataclass(frozen=True)
class Balance:
    procedure_id: int
    procedure_reference: str
    today: dt.date
    schedule: list[Due]
    payments: list[PaymentEntry]
    expected_total: Decimal  # over the whole schedule
    expected_to_date: Decimal  # due on or before today
    paid: Decimal  # paid on or before today
    balance: Decimal  # expected_to_date − paid: > 0 in arrears, < 0 paid in advance
    oldest_unpaid: dt.date | None  # the first month due and not covered by the payments (oldest first)


def _notices(session: Session, procedure_ids: list[int]) -> dict[int, list[LevyNotice]]:
    out: dict[int, list[LevyNotice]] = {pid: [] for pid in procedure_ids}
    if procedure_ids:
        for n in session.execute(select(LevyNotice).where(LevyNotice.procedure_id.in_(procedure_ids),
                                                          LevyNotice.sent_on.is_not(None))
                                 .order_by(LevyNotice.effective_from, LevyNotice.id)).scalars():
            out[n.procedure_id].append(n)
    return out


def _replaced_from(notice: LevyNotice, sent: list[LevyNotice]) -> dt.date | None:
    """From when a later notice replaces `notice`: only a sent one does (a change or remedy notice filed and
    not yet posted leaves the one in force due, so holding it back cannot stop the amounts)."""
    later = [n.effective_from for n in sent if n.id > notice.id]
    return min(later) if later else None


def _schedule_of(notices: list[LevyNotice]) -> list[Due]:
    rows = [Due(due_on, amount, n.id, n.kind) for n in notices
            for due_on, amount in monthly_schedule(n.effective_from, n.effective_to, _replaced_from(n, notices),
                                                   money(n.monthly_levy))]
    return sorted(rows, key=lambda d: (d.due_on, d.notice_id))


def schedule(session: Session, procedure: Procedure) -> list[Due]:
    """The amounts the procedure's sent notices make due, by due day (the caller has checked access)."""
    return _schedule_of(_notices(session, [procedure.id])[procedure.id])


def _payments(session: Session, procedure_ids: list[int]) -> dict[int, list[PaymentEntry]]:
    out: dict[int, list[PaymentEntry]] = {pid: [] for pid in procedure_ids}
    if procedure_ids:
        rows = session.execute(select(LevyPayment, User.username).outerjoin(User, User.id == LevyPayment.recorded_by)
                               .where(LevyPayment.procedure_id.in_(procedure_ids))
                               .order_by(LevyPayment.paid_on, LevyPayment.id)).all()
        later = {p.supersedes_id: p for p, _ in rows if p.supersedes_id is not None}
        for p, username in rows:
            out[p.procedure_id].append(_entry(p, username, later.get(p.id)))
    return out


def _entry(row: LevyPayment, username: str | None, superseded_by: LevyPayment | None = None) -> PaymentEntry:
    return PaymentEntry(row.id, row.procedure_id, row.paid_on, money(row.amount), row.reference, row.booking_id,
                        row.source, row.recorded_at, username, row.supersedes_id, row.note,
                        superseded_by.id if superseded_by else None, superseded_by.source if superseded_by else None)


def paid_total(entries: list[PaymentEntry], until: dt.date | None = None) -> Decimal:
    """What the payments in the balance add up to (those paid by `until`, if given)."""
    return sum((p.amount for p in entries if p.counts and (until is None or p.paid_on <= until)), Decimal("0.00"))


def counted(session: Session, procedure_id: int) -> list[PaymentEntry]:
    """The procedure's payments in the balance (the caller has checked access)."""
    return [p for p in _payments(session, [procedure_id])[procedure_id] if p.counts]


def _oldest_unpaid(due: list[Due], paid: Decimal) -> dt.date | None:
    """Payments settle the oldest amounts first: the first month they do not cover."""
    covered = paid
    for d in due:
        if covered >= d.amount:
            covered -= d.amount
            continue
        return month_start(d.due_on)
    return None


def _balance(procedure: Procedure, notices: list[LevyNotice], payments: list[PaymentEntry],
             today: dt.date) -> Balance:
    rows = _schedule_of(notices)
    due = [d for d in rows if d.due_on <= today]
    expected = sum((d.amount for d in due), Decimal("0.00"))
    paid = paid_total(payments, today)  # the state on `today`
    return Balance(procedure.id, procedure.reference, today, rows, payments,
                   sum((d.amount for d in rows), Decimal("0.00")), expected, paid, expected - paid,
                   _oldest_unpaid(due, paid))


def balance_in(session: Session, procedure: Procedure, today: dt.date) -> Balance:
    """The procedure's schedule, payments and balance (the caller has checked access: the procedure page)."""
    return _balance(procedure, _notices(session, [procedure.id])[procedure.id],
                    _payments(session, [procedure.id])[procedure.id], today)


def procedure_balance(rt: Runtime, actor: Actor, procedure_id: int, today: dt.date | None = None) -> Balance:
    """GET …/payments: whoever may see the levy procedure (its unit's members, auditors, admins)."""
    with rt.db.read() as session:
        procedure = levy_procedure(rt, session, actor, procedure_id)
        return balance_in(session, procedure, today or office_today())


@dataclass(frozen=True)
class ArrearsRow:
    procedure_id: int
    procedure_reference: str
    case_id: int
    case_reference: str
    title: str
    tenant_name: str | None
    expected_to_date: Decimal
    paid: Decimal
    amount: Decimal  # in arrears
    oldest_unpaid: dt.date | None


def arrears(rt: Runtime, actor: Actor, today: dt.date | None = None) -> list[ArrearsRow]:
    """The procedures whose amounts due by `today` exceed what was paid, the oldest unpaid month first (levy unit
    clerks, auditors, admins)."""
    today = today or office_today()
    with rt.db.read() as session:
        _require_reader(session, rt, actor.principal)
        with_notices = select(LevyNotice.procedure_id).where(LevyNotice.sent_on.is_not(None))
        rows = session.execute(select(Procedure, Case).join(Case, Case.id == Procedure.case_id)
                               .where(Case.case_type == CASE_TYPE, Procedure.id.in_(with_notices),
                                      visible_cases_filter(actor.principal))
                               .order_by(Procedure.id)).all()
        ids = [p.id for p, _ in rows]
        notices, payments = _notices(session, ids), _payments(session, ids)
        out: list[ArrearsRow] = []
        for procedure, case in rows:
            b = _balance(procedure, notices[procedure.id], payments[procedure.id], today)
            if b.balance > 0:
                out.append(ArrearsRow(procedure.id, procedure.reference, case.id, case.reference, case.title,
                                      (case.metadata_ or {}).get("tenant_name"), b.expected_to_date, b.paid,
                                      b.balance, b.oldest_unpaid))
        return sorted(out, key=lambda r: (r.oldest_unpaid or today, r.procedure_reference))


# --- recording ----------------------------------------------------------------------------------------------

def _reference_text(value: str | None) -> str | None:
    text = " ".join((value or "").split())
    if len(text) > REFERENCE_MAX:
        raise Invalid(f"reference is longer than {REFERENCE_MAX} characters", field="reference",
                      detail_de=f"Der Verwendungszweck ist länger als {REFERENCE_MAX} Zeichen")
    return text or None


def _book(session: Session, actor: Actor, procedure: Procedure, paid_on: dt.date, amount: Decimal,
          reference: str | None, booking_id: str | None, source: str, confirms: int | None = None) -> LevyPayment:
    row = LevyPayment(case_id=procedure.case_id, procedure_id=procedure.id, paid_on=paid_on, amount=str(amount),
                      reference=reference, booking_id=booking_id, source=source, recorded_at=utcnow(),
                      recorded_by=actor.principal.user_id, supersedes_id=confirms)
    session.add(row)
    session.flush()
    audit.record(session, actor, "levy.payment.record", "levy_payment", row.id, case_id=procedure.case_id,
                 details={"procedure": procedure.reference, "paid_on": paid_on.isoformat(), "amount": str(amount),
                          "reference": reference, "booking_id": booking_id, "source": source,
                          "confirms_payment_id": confirms})
    return row


def record_payment(rt: Runtime, actor: Actor, procedure_id: int, paid_on: dt.date, amount: Decimal | str,
                   reference: str | None = None, *, separate: bool = False) -> PaymentEntry:
    """A payment typed in by a clerk of the levy unit (not in the future; positive, cents).

    If a payment of the same amount within MATCH_DAYS counts already (the cash office's import booked it, or it was
    typed in before), this is most likely that money again: refused (409 naming the payment and any booking)
    unless `separate` says it is another payment. The import's matching covers the other order (typed in first,
    imported later)."""
    value = parse_amount(amount)
    if paid_on > office_today():
        raise Invalid("paid_on lies in the future", field="paid_on",
                      detail_de="Das Zahlungsdatum liegt in der Zukunft")
    text = _reference_text(reference)
    with rt.db.write() as session:
        procedure = levy_procedure(rt, session, actor, procedure_id, change=True, lock=True)
        booked = _counting_twin(session, procedure, paid_on, value)
        if booked is not None and not separate:
            raise _booked_already(booked, value)
        row = _book(session, actor, procedure, paid_on, value, text, None, "manual")
        if booked is not None:  # the clerk's word against the likely twin: which payment it stands beside
            audit.record(session, actor, "levy.payment.separate", "levy_payment", row.id,
                         case_id=procedure.case_id,
                         details={"procedure": procedure.reference, "beside_payment_id": booked.id,
                                  "beside_booking_id": booked.booking_id})
        return _entry(row, actor.principal.username)


def _counting_twin(session: Session, procedure: Procedure, paid_on: dt.date, amount: Decimal) -> LevyPayment | None:
    """A payment of the same amount within MATCH_DAYS of `paid_on` that counts (imported or typed in, neither
    reversed nor confirmed by a later line), or the line that confirmed a typed-in one within MATCH_DAYS (so the
    window does not move to the bank's day once the import ran); the nearest day first."""
    same = (LevyPayment.procedure_id == procedure.id, LevyPayment.amount == str(amount))
    near = _within_match_days(paid_on)
    typed_in_near = select(LevyPayment.id).where(*same, LevyPayment.source == "manual", near)
    rows = session.execute(select(LevyPayment).where(
        *same, LevyPayment.source.in_(("import", "manual")), LevyPayment.id.not_in(_SUPERSEDED),
        or_(near, and_(LevyPayment.source == "import", LevyPayment.supersedes_id.in_(typed_in_near))))).scalars().all()
    return min(rows, key=lambda r: (abs((r.paid_on - paid_on).days), r.id), default=None)


# Payments a later row took the place of: reversed, or (typed in) confirmed by the cash office's line.
_SUPERSEDED = select(LevyPayment.supersedes_id).where(LevyPayment.supersedes_id.is_not(None))


def _within_match_days(day: dt.date) -> ColumnElement[bool]:
    return LevyPayment.paid_on.between(day - dt.timedelta(days=MATCH_DAYS), day + dt.timedelta(days=MATCH_DAYS))


def _booked_already(twin: LevyPayment, value: Decimal) -> PaymentBookedAlready:
    day = f"{twin.paid_on:%d.%m.%Y}"
    if twin.source == "import":
        detail = f"the cash office's booking {twin.booking_id} of {day} booked {value} already"
        detail_de = f"Die Stadtkasse hat {euro(value)} bereits am {day} gebucht (Buchung {twin.booking_id})."
    else:
        detail = f"a payment of {value} on {day} is recorded already"
        detail_de = f"Eine Zahlung über {euro(value)} vom {day} ist bereits erfasst."
    return PaymentBookedAlready(f"{detail}; if this is another payment, confirm that it is",
                                detail_de=f"{detail_de} Wenn es eine weitere Zahlung ist, bestätigen Sie das.",
                                field="separate", booking_id=twin.booking_id, payment_id=twin.id)


def _payment(rt: Runtime, session: Session, actor: Actor, payment_id: int, *,
             change: bool) -> tuple[LevyPayment, Procedure]:
    row = session.get(LevyPayment, payment_id)
    if row is None:
        raise NotFound(f"no levy payment {payment_id}", detail_de="Keine Zahlung mit dieser Nummer")
    # 404 for those who see nothing; locked for a change, so two reversals of one payment queue up.
    return row, levy_procedure(rt, session, actor, row.procedure_id, change=change, lock=change)


def read_payment(rt: Runtime, actor: Actor, payment_id: int) -> PaymentEntry:
    """One payment as its procedure's balance shows it (whoever may see the procedure)."""
    with rt.db.read() as session:
        row, _ = _payment(rt, session, actor, payment_id, change=False)
        return next(p for p in _payments(session, [row.procedure_id])[row.procedure_id] if p.id == row.id)


def reverse_payment(rt: Runtime, actor: Actor, payment_id: int, reason: str) -> PaymentEntry:
    """Reverse (Storno) a payment booked in error, with the reason (clerks of the levy unit): a reversal row names
    it, and neither counts in the balance any more. Returns the reversal."""
    text = required_text(reason, "reason", "den Grund der Stornierung", NOTE_MAX)
    try:
        with rt.db.write() as session:
            row, procedure = _payment(rt, session, actor, payment_id, change=True)  # 404 first: others learn nothing
            _require_booker(session, rt, actor.principal)
            if row.source == "reversal":
                raise Conflict(f"payment {row.id} is a reversal; record the payment again instead",
                               detail_de="Eine Stornobuchung wird nicht storniert – bitte die Zahlung neu erfassen")
            later = session.execute(select(LevyPayment).where(LevyPayment.supersedes_id == row.id)).scalar()
            if later is not None and later.source == "reversal":
                raise Conflict(f"payment {row.id} is reversed already", detail_de="Die Zahlung ist bereits storniert")
            if later is not None:
                # It no longer counts: the bank's line took its place. Reversing that line would remove real money.
                raise Conflict(f"payment {row.id} no longer counts: the cash office's booking {later.booking_id} "
                               "took its place; there is nothing to reverse",
                               detail_de=f"Die Zahlung zählt nicht mehr: die Buchung {later.booking_id} der "
                                         "Stadtkasse ist an ihre Stelle getreten. Es ist nichts zu stornieren.")
            reversal = LevyPayment(case_id=row.case_id, procedure_id=row.procedure_id, paid_on=office_today(),
                                   amount=row.amount, reference=row.reference, booking_id=None, source="reversal",
                                   recorded_at=utcnow(), recorded_by=actor.principal.user_id,
                                   supersedes_id=row.id, note=text)
            session.add(reversal)
            session.flush()
            audit.record(session, actor, "levy.payment.reverse", "levy_payment", row.id, case_id=row.case_id,
                         details={"procedure": procedure.reference, "reversal_id": reversal.id,
                                  "paid_on": row.paid_on.isoformat(), "amount": row.amount,
                                  "booking_id": row.booking_id, "source": row.source, "reason": text})
            return _entry(reversal, actor.principal.username)
    except IntegrityError:
        # Someone reversed or confirmed it in the same moment (supersedes_id is unique).
        raise Conflict(f"payment {payment_id} was reversed or confirmed meanwhile",
                       detail_de="Die Zahlung wurde soeben storniert oder bestätigt") from None


# --- the cash office's import -------------------------------------------------------------------------------

@dataclass(frozen=True)
class CsvLine:
    line: int
    booking_id: str
    paid_on: dt.date
    amount: Decimal
    purpose: str


@dataclass(frozen=True)
class ImportedLine:
    line: int
    booking_id: str
    payment_id: int
    procedure_id: int
    procedure_reference: str
    paid_on: dt.date
    amount: Decimal
    confirms_payment_id: int | None = None  # the typed-in payment this line confirms (the money counts once)


@dataclass(frozen=True)
class ImportProblem:
    line: int
    booking_id: str
    kind: str  # duplicate | unmatched
    message: str
    message_de: str
    amount: Decimal
    purpose: str


@dataclass
class ImportReport:
    sha256: str
    lines: int
    imported: list[ImportedLine] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def duplicates(self) -> list[ImportProblem]:
        return [p for p in self.problems if p.kind == "duplicate"]

    @property
    def unmatched(self) -> list[ImportProblem]:
        return [p for p in self.problems if p.kind == "unmatched"]

    @property
    def confirmed(self) -> list[ImportedLine]:
        return [i for i in self.imported if i.confirms_payment_id is not None]

    @property
    def total(self) -> Decimal:
        return sum((i.amount for i in self.imported), Decimal("0.00"))


def _malformed(line: int, column: str, message: str, message_de: str) -> Invalid:
    return Invalid(f"line {line}: {column}: {message}; nothing was imported", field=column, line=line,
                   detail_de=f"Zeile {line}, Spalte {column}: {message_de}. Es wurde nichts gebucht.")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="strict")  # what spreadsheet exports on Windows write


def parse_csv(data: bytes) -> list[CsvLine]:
    """The cash office's lines, or Invalid naming the first malformed line and column (nothing is booked)."""
    try:
        text = _decode(data)
    except UnicodeDecodeError:
        raise _malformed(1, "file", "not a text file (UTF-8 or Windows-1252)",
                         "keine Textdatei (UTF-8 oder Windows-1252)") from None
    if "\x00" in text:
        raise _malformed(1, "file", "holds NUL characters", "enthält unzulässige Zeichen")
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=";", strict=True)
    try:
        header = next(rows, None)
        if header is None:
            raise _malformed(1, "file", "the file is empty", "die Datei ist leer")
        names = tuple(h.strip() for h in header)
        if tuple(n.lower() for n in names) != tuple(c.lower() for c in CSV_COLUMNS):
            raise _malformed(1, "file", f"the header must be {';'.join(CSV_COLUMNS)}",
                             f"die Kopfzeile muss {';'.join(CSV_COLUMNS)} lauten")
        out: list[CsvLine] = []
        for cells in rows:
            n = rows.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(CSV_COLUMNS):
                raise _malformed(n, "file", f"{len(cells)} columns instead of {len(CSV_COLUMNS)}",
                                 f"{len(cells)} statt {len(CSV_COLUMNS)} Spalten")
            booking, day, amount, purpose = (c.strip() for c in cells)
            if not booking or len(booking) > BOOKING_MAX:
                raise _malformed(n, "Buchungsnummer", f"missing or longer than {BOOKING_MAX} characters",
                                 f"fehlt oder ist länger als {BOOKING_MAX} Zeichen")
            try:
                paid_on = _csv_date(day)
            except ValueError:
                raise _malformed(n, "Buchungsdatum", f"{day!r} is not a date (TT.MM.JJJJ)",
                                 f"„{day}“ ist kein Datum (TT.MM.JJJJ)") from None
            if paid_on > office_today():
                raise _malformed(n, "Buchungsdatum", f"{day!r} lies in the future",
                                 f"„{day}“ liegt in der Zukunft")
            try:
                value = parse_amount(amount, "Betrag")
            except Invalid as exc:
                raise _malformed(n, "Betrag", f"{amount!r}: {exc.detail}", f"„{amount}“: {exc.detail_de}") from None
            out.append(CsvLine(n, booking, paid_on, value, " ".join(purpose.split())[:REFERENCE_MAX]))
        return out
    except csv.Error as exc:
        raise _malformed(rows.line_num or 1, "file", f"not a valid CSV file ({exc})",
                         "keine gültige CSV-Datei") from None


def _read_stream(stream: BinaryIO | bytes) -> bytes:
    data = stream if isinstance(stream, bytes) else stream.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(f"the payment file is larger than {MAX_IMPORT_BYTES} bytes", field="file",
                              detail_de=f"Die Zahlungsdatei ist größer als {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    return data


def _match(session: Session, p: Principal, purpose: str) -> tuple[Procedure | None, str, str]:
    """The one levy procedure the Verwendungszweck names and the importer may book to; else why not."""
    refs = sorted(set(REFERENCE_RE.findall(purpose)))
    if not refs:
        return None, "no procedure reference in the purpose", "kein Aktenzeichen im Verwendungszweck"
    found = session.execute(select(Procedure).join(Case, Case.id == Procedure.case_id)
                            .where(Procedure.reference.in_(refs), Case.case_type == CASE_TYPE)).scalars().all()
    # A procedure the importer may not see reads like an unknown reference (ids of others leak nothing).
    usable = [pr for pr in found if "survey_id" in (pr.metadata_ or {}) and can_view_case(p, pr.case)
              and can_change_case(p, pr.case)]
    if len(usable) > 1:
        return None, f"more than one procedure named ({', '.join(refs)})", \
            f"mehrere Aktenzeichen im Verwendungszweck ({', '.join(refs)})"
    if not usable:
        return None, f"no levy procedure {', '.join(refs)}", f"kein Vorgang {', '.join(refs)} der Abgabe"
    return usable[0], "", ""


def _booked(session: Session, booking_ids: list[str], chunk: int = 500) -> set[str]:
    """Which of the booking numbers are booked already (asked in chunks: a database binds only so many values)."""
    known: set[str] = set()
    for i in range(0, len(booking_ids), chunk):
        known.update(session.execute(select(LevyPayment.booking_id).where(
            LevyPayment.booking_id.in_(booking_ids[i:i + chunk]))).scalars())
    return known


def _lock_procedures(session: Session, procedure_ids: list[int], chunk: int = 500) -> None:
    for i in range(0, len(procedure_ids), chunk):
        session.execute(select(Procedure.id).where(Procedure.id.in_(procedure_ids[i:i + chunk]))
                        .order_by(Procedure.id).with_for_update()).all()


def _typed_in(session: Session, procedure: Procedure, line: CsvLine, claimed: set[int]) -> int | None:
    """The typed-in payment of `procedure` this line is the booking of: the same amount, within MATCH_DAYS, not
    confirmed, reversed or claimed by an earlier line; the nearest day first."""
    rows = session.execute(select(LevyPayment.id, LevyPayment.paid_on).where(
        LevyPayment.procedure_id == procedure.id, LevyPayment.source == "manual",
        LevyPayment.amount == str(line.amount), LevyPayment.id.not_in(_SUPERSEDED),
        _within_match_days(line.paid_on))).all()
    free = sorted((abs((day - line.paid_on).days), pid) for pid, day in rows if pid not in claimed)
    return free[0][1] if free else None


def import_payments(rt: Runtime, actor: Actor, stream: BinaryIO | bytes,
                    filename: str | None = None) -> ImportReport:
    """Book the cash office's CSV (clerks of the levy unit): all well-formed lines that match, in one transaction;
    duplicates and unmatched lines are reported, not booked; a malformed file books nothing."""
    with rt.db.read() as session:
        _require_booker(session, rt, actor.principal)  # before reading what they sent
    data = _read_stream(stream)
    lines = parse_csv(data)
    report = ImportReport(hashlib.sha256(data).hexdigest(), len(lines))
    try:
        with rt.db.write() as session:
            _require_booker(session, rt, actor.principal)
            known = _booked(session, sorted({x.booking_id for x in lines}))
            seen: set[str] = set()
            matched: list[tuple[CsvLine, Procedure]] = []
            for x in lines:
                if x.booking_id in known or x.booking_id in seen:
                    again = "earlier in this file" if x.booking_id in seen else "by an earlier import"
                    again_de = "weiter oben in dieser Datei" if x.booking_id in seen else "bei einem früheren Import"
                    report.problems.append(ImportProblem(x.line, x.booking_id, "duplicate",
                                                         f"booking {x.booking_id} was imported {again}",
                                                         f"Buchung {x.booking_id} wurde bereits {again_de} gebucht",
                                                         x.amount, x.purpose))
                    continue
                seen.add(x.booking_id)
                procedure, why, why_de = _match(session, actor.principal, x.purpose)
                if procedure is None:
                    report.problems.append(ImportProblem(x.line, x.booking_id, "unmatched", why, why_de, x.amount,
                                                         x.purpose))
                    continue
                matched.append((x, procedure))
            # A clerk typing in a payment of one of these procedures now waits for this import, and then sees its
            # lines (record_payment locks the procedure too); in id order, so two imports cannot deadlock.
            _lock_procedures(session, sorted({procedure.id for _, procedure in matched}))
            claimed: set[int] = set()
            for x, procedure in matched:
                confirms = _typed_in(session, procedure, x, claimed)
                row = _book(session, actor, procedure, x.paid_on, x.amount, x.purpose or None, x.booking_id,
                            "import", confirms)
                if confirms is not None:
                    claimed.add(confirms)
                report.imported.append(ImportedLine(x.line, x.booking_id, row.id, procedure.id,
                                                    procedure.reference, x.paid_on, x.amount, confirms))
            audit.record(session, actor, "levy.payments.import", "levy_payment_import", report.sha256[:16],
                         details={"filename": filename, "sha256": report.sha256, "lines": report.lines,
                                  "imported": len(report.imported), "total": str(report.total),
                                  "confirmed": [i.line for i in report.confirmed],
                                  "duplicates": [p.line for p in report.duplicates],
                                  "unmatched": [p.line for p in report.unmatched]})
    except IntegrityError:
        # Meanwhile another import booked one of these lines (the booking number is unique), or a clerk reversed a
        # typed-in payment a line confirms (so does supersedes_id): nothing of this one was booked, and importing
        # the file again skips what the other booked and matches against what is left.
        raise Conflict("another import or a reversal changed these payments at the same time; nothing was booked, "
                       "import the file again",
                       detail_de="Gleichzeitig hat ein anderer Import oder eine Stornierung diese Zahlungen "
                                 "geändert; es wurde nichts gebucht – bitte die Datei erneut importieren") from None
    return report
