"""The levy's notices as PDF/A (templates/notice.html, on the shared letter frame): the Festsetzungsbescheid for
the payment period, an Änderungsbescheid (§8 FBAG change, or the remedy of an objection) from a later day, an
Aufhebungsbescheid (§8 cancellation). Each shows the computation with every input and figure and the table
version it used (marked when the municipality has not confirmed the tables), the monthly amount and the period,
the payment details and the Rechtsbehelfsbelehrung. Filed as a managed document of kind `notice` in the
procedure with its LevyNotice row; a notice of the procedure still in force is superseded from the new one's day.
A notice keeps what it says: it is rendered from the assessment's recorded result, never from the tables now."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from eakte.clock import office_today
from eakte.errors import Conflict, Invalid
from eakte.models import Case, LevyAssessment, LevyNotice, LevyTableVersion, Procedure
from eakte.runtime import Runtime
from eakte.services import audit
from eakte.services.access import Actor
from eakte.services.levy.common import LETTERS, levy_type
from eakte.services.pdf_letters import file_letter, german_date
from workflows.definition import CaseType
from workflows.levy.terms import BENEFIT_LABELS, HEATING_LABELS, NOTICE_KIND, NOTICE_KINDS, NOTICE_LABELS

LEGAL_BASIS = "§§ 1 ff. des Gesetzes über die Fehlbelegungsabgabe (FBAG) vom 30.11.2015"
OUTCOME_LABELS = {"levied": "Abgabe wird erhoben", "below_threshold": "unter der Abgabegrenze: keine Abgabe",
                  "exempt": "befreit: keine Abgabe", "no_answer": "keine Auskunft: höchste Stufe"}
EXEMPT_LABELS = {"transfer_benefits": "alle Haushaltsmitglieder beziehen Transferleistungen",
                 "temporary_use": "nur vorübergehende Nutzung der Wohnung"}
BUILD_CLASS_LABELS = {"to_1948_stove": "bis 1948, Ofenheizung", "to_1948_central": "bis 1948, Sammelheizung",
                      "1949_1978": "1949 bis 1978", "1979_1990": "1979 bis 1990", "1991_2000": "1991 bis 2000",
                      "2001_2010": "2001 bis 2010", "from_2011": "ab 2011"}
AREA_CLASS_LABELS = {"to_50": "bis 50 m²", "50_80": "über 50 bis 80 m²", "over_80": "über 80 m²"}


def euro(value: Any) -> str:
    """"1234.5" → "1.234,50 €" (German notation); "–" for nothing."""
    if value in (None, ""):
        return "–"
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return str(value)
    text = f"{amount:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return f"{text} €"


def percent(value: Any) -> str:
    if value in (None, ""):
        return "–"
    return f"{str(value).replace('.', ',')} %"


def _yes(value: Any) -> str:
    return "ja" if value else "nein"


def computation_rows(assessment: LevyAssessment) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(the inputs, the figures) of an assessment as the notice and the pages print them."""
    inp: Mapping[str, Any] = assessment.inputs or {}
    res: Mapping[str, Any] = assessment.result or {}
    inputs = [
        ("Stichtag", german_date(inp.get("reference_date"))),
        ("Haushaltsgröße (Personen)", str(inp.get("household_size", "–"))),
        ("davon Kinder", str(inp.get("children", "–"))),
        ("Jahreseinkommen des Haushalts", euro(inp.get("annual_income"))
         if inp.get("annual_income") is not None else "nicht angegeben"),
        ("Auskunft erteilt", _yes(inp.get("answered", True))),
        ("Befreiung", EXEMPT_LABELS.get(str(inp.get("exempt")), "keine") if inp.get("exempt") else "keine"),
        ("Wohnfläche", f"{str(inp.get('area_m2', '–')).replace('.', ',')} m²"),
        ("Baujahr", str(inp.get("build_year", "–"))),
        ("Heizung", HEATING_LABELS.get(str(inp.get("heating")), str(inp.get("heating", "–")))),
        ("Mietenstufe", str(inp.get("mietenstufe", "–"))),
    ]
    figures = [
        ("Einkommensgrenze", euro(res.get("limit"))),
        ("Abgabegrenze (Einkommensgrenze × 1,2)", euro(res.get("threshold"))),
        ("Überschreitung der Einkommensgrenze", percent(res.get("exceedance_percent"))),
        ("Abgabesatz", percent(res.get("rate_percent"))),
        ("Baujahresklasse", BUILD_CLASS_LABELS.get(str(res.get("build_class")), str(res.get("build_class") or "–"))),
        ("Größenklasse", AREA_CLASS_LABELS.get(str(res.get("area_class")), str(res.get("area_class") or "–"))),
        ("Höchstbetrag je m² und Monat", euro(res.get("max_amount_per_m2"))),
        ("Kappungsbetrag je Wohnung", euro(res.get("cap_per_flat"))),
        ("Ergebnis", OUTCOME_LABELS.get(str(res.get("outcome")), str(res.get("outcome") or "–"))),
        ("Monatliche Fehlbelegungsabgabe", euro(assessment.monthly_levy)),
        ("Tabellenstand", assessment.table_version),
    ]
    return inputs, figures


def tables_confirmed(session: Session, assessment: LevyAssessment) -> bool:
    """Whether the municipality has confirmed the table version the assessment used (by label and hash)."""
    row = session.execute(select(LevyTableVersion).where(LevyTableVersion.label == assessment.table_version,
                                                         LevyTableVersion.sha256 == assessment.table_sha256)
                          ).scalar()
    return row is not None and row.confirmed_at is not None


def _letterhead(case_type: CaseType) -> dict[str, Any]:
    s = case_type.settings
    return {"municipality": str(s.get("municipality") or ""), "lines": [str(x) for x in s.get("letterhead") or ()]}


def _addressee(case: Case, procedure: Procedure) -> list[str]:
    flat = case.metadata_ or {}
    members = ((procedure.metadata_ or {}).get("household") or {}).get("members") or []
    tenants = [str(m.get("name")) for m in members if isinstance(m, dict) and m.get("tenant") and m.get("name")]
    name = str(flat.get("tenant_name") or "") or ", ".join(tenants)
    street = " ".join(str(flat.get(k) or "").strip() for k in ("street", "house_number")).strip()
    place = " ".join(str(flat.get(k) or "").strip() for k in ("postal_code", "city")).strip()
    return [x for x in (name, street, str(flat.get("flat_number") or ""), place) if x]


def _flat_line(case: Case) -> str:
    flat = case.metadata_ or {}
    street = " ".join(str(flat.get(k) or "").strip() for k in ("street", "house_number")).strip()
    place = " ".join(str(flat.get(k) or "").strip() for k in ("postal_code", "city")).strip()
    return ", ".join(x for x in (street, str(flat.get("flat_number") or ""), place) if x)


def _months_text(n: int) -> str:
    return "eines Monats" if n == 1 else f"{n} Monaten"


def _payee(case_type: CaseType) -> dict[str, str]:
    s = case_type.settings
    return {k: str(s.get(f"payee_{k}") or "").strip() for k in ("name", "iban", "bic")}


def require_payee(case_type: CaseType) -> dict[str, str]:
    payee = _payee(case_type)
    if not payee["name"] or not payee["iban"]:
        raise Conflict("the payee account of the levy (payee_name, payee_iban) is not configured",
                       detail_de="Die Bankverbindung der Stadtkasse für die Fehlbelegungsabgabe (payee_name, "
                                 "payee_iban) ist nicht eingerichtet; ohne sie kann kein Bescheid erstellt werden")
    return payee


def in_force(session: Session, procedure_id: int) -> list[LevyNotice]:
    """The procedure's notices not yet superseded (a cancellation ends the ones before it and is itself last)."""
    return list(session.execute(select(LevyNotice).where(LevyNotice.procedure_id == procedure_id,
                                                         LevyNotice.superseded_from.is_(None))
                                .order_by(LevyNotice.id)).scalars())


def file_notice(rt: Runtime, session: Session, actor: Actor, case: Case, procedure: Procedure, kind: str,
                assessment: LevyAssessment | None, effective_from: dt.date) -> LevyNotice:
    """Render and file a notice of `kind` (terms.NOTICE_KINDS) in the caller's transaction; `assessment` None only
    for a cancellation. The period ends with the procedure's payment period. 409 when the payee account is not
    configured (a notice demanding money names where to pay it)."""
    if kind not in NOTICE_KINDS:
        raise Invalid(f"kind: expected one of {', '.join(NOTICE_KINDS)}", field="kind",
                      detail_de="Unbekannte Art des Bescheids")
    if (assessment is None) != (kind == "cancellation"):
        raise Invalid("a cancellation has no assessment; every other notice needs one", field="assessment",
                      detail_de="Ein Aufhebungsbescheid hat keine Berechnung, jeder andere Bescheid braucht eine")
    case_type = levy_type(rt)
    meta = procedure.metadata_ or {}
    try:
        effective_to = dt.date.fromisoformat(str(meta.get("period_end")))
    except ValueError:
        raise Conflict("the procedure has no payment period", field="period_end",
                       detail_de="Der Vorgang hat keinen Leistungszeitraum") from None
    monthly = assessment.monthly_levy if assessment is not None else "0.00"
    payee = require_payee(case_type) if Decimal(monthly) > 0 else _payee(case_type)
    earlier = [n for n in in_force(session, procedure.id) if n.kind != "cancellation"]
    inputs, figures = computation_rows(assessment) if assessment is not None else ([], [])
    result = assessment.result if assessment is not None else {}
    settings = case_type.settings
    title = f"{NOTICE_LABELS[kind]} über die Fehlbelegungsabgabe"
    context = {
        "letterhead": _letterhead(case_type), "title": title, "kind": kind, "kind_label": NOTICE_LABELS[kind],
        "addressee": _addressee(case, procedure), "flat": _flat_line(case),
        "flat_id": str((case.metadata_ or {}).get("flat_id") or ""),
        "reference": procedure.reference, "case_reference": case.reference,
        "issued_on": german_date(office_today()), "effective_from": german_date(effective_from),
        "effective_to": german_date(effective_to), "monthly": euro(monthly),
        "levied": Decimal(monthly) > 0, "inputs": inputs, "figures": figures,
        "explanation": str(result.get("explanation_de") or ""),
        "table_version": assessment.table_version if assessment is not None else "",
        "confirmed": tables_confirmed(session, assessment) if assessment is not None else True,
        "earlier": [{"issued_on": german_date(n.issued_at), "label": NOTICE_LABELS.get(n.kind, n.kind),
                     "monthly": euro(n.monthly_levy)} for n in earlier],
        "payee": payee, "purpose": f"Fehlbelegungsabgabe {procedure.reference}",
        "objection_period": _months_text(int(settings.get("objection_months") or 1)),
        "municipality": str(settings.get("municipality") or ""), "basis": LEGAL_BASIS,
        "benefit_labels": BENEFIT_LABELS,
    }
    document, sha256 = file_letter(
        rt, session, actor, case, LETTERS, "notice.html", context, kind=NOTICE_KIND, title=title,
        filename=f"{NOTICE_LABELS[kind]} {procedure.reference}.pdf", procedure_id=procedure.id)
    for n in earlier:
        n.superseded_from = effective_from
    notice = LevyNotice(case_id=case.id, procedure_id=procedure.id,
                        assessment_id=assessment.id if assessment is not None else None, kind=kind,
                        effective_from=effective_from, effective_to=effective_to, monthly_levy=monthly,
                        document_id=document.id, issued_by=actor.principal.user_id)
    session.add(notice)
    session.flush()
    audit.record(session, actor, "levy.notice", "document", document.id, case_id=case.id,
                 details={"procedure": procedure.reference, "notice_id": notice.id, "kind": kind,
                          "assessment_id": notice.assessment_id, "effective_from": effective_from.isoformat(),
                          "effective_to": effective_to.isoformat(), "monthly_levy": monthly,
                          "table_version": context["table_version"] or None, "sha256": sha256,
                          "supersedes": [n.id for n in earlier] or None})
    return notice


def newest_notice(session: Session, procedure_id: int) -> LevyNotice | None:
    return session.execute(select(LevyNotice).where(LevyNotice.procedure_id == procedure_id)
                           .order_by(LevyNotice.id.desc()).limit(1)).scalar()


def mark_sent(session: Session, actor: Actor, procedure: Procedure) -> LevyNotice:
    """The procedure's newest notice was sent today (the Bescheid step's "sent")."""
    notice = newest_notice(session, procedure.id)
    if notice is None:
        raise Conflict(f"{procedure.reference} has no notice to send",
                       detail_de=f"Zum Vorgang {procedure.reference} gibt es keinen Bescheid, der versandt werden "
                                 "könnte")
    if notice.sent_on is None:
        notice.sent_on = office_today()
        audit.record(session, actor, "levy.notice_sent", "document", notice.document_id, case_id=procedure.case_id,
                     details={"procedure": procedure.reference, "notice_id": notice.id,
                              "sent_on": notice.sent_on.isoformat()})
    return notice
