"""The personnel case type, built from its `[case_types.personnel]` settings: which unit keeps the files, which
keeps Beihilfe, who reads, how long adverse items stay, how long a recorded-reason access lasts."""
from __future__ import annotations

from typing import Any, Mapping

from workflows.definition import CaseType, DocumentKind, FieldGroup, Restriction, SubFile
from workflows.fields import Field, FieldError

DEFAULTS: dict[str, Any] = {
    "personnel_unit": "11",         # Personalamt: keeps the files
    "beihilfe_unit": "11.1",        # Beihilfestelle: alone sees the Beihilfe sub-file (BBG §108)
    "reader_role": "clerk",         # the role in the personnel unit that reads files
    "file_plan_code": "11.10",      # Personalakten
    "adverse_removal_years": 2,     # BBG §112 as the model; Hesse's own period is for the municipality to set
    "hearing_days": 14,             # time the employee is given to state their view (BBG §109)
    "access_grant_hours": 8,        # how long a recorded-reason access lasts
    "grant_role": "head_of_unit",   # who grants it, in the personnel unit
    "grant_immediately": False,     # True: granted at once and flagged for the granting role
    "admins_need_reason": True,     # admins read personnel files only with a recorded reason, as auditors do
}
STATUS_GROUPS = ("Beamte", "Tarifbeschäftigte")
ADVERSE_KINDS = ("complaint", "warning")  # what the hearing flow files (workflows.personnel.adverse)
STATEMENT_KIND = "statement"
GRUNDAKTE = "grundakte"  # the case level itself: documents filed outside any sub-file

FIELDS = (
    Field("personnel_number", "Personalnummer", "Personnel number", required=True, max_length=32),
    Field("name", "Name, Vorname", "Name", required=True, max_length=200),
    Field("birth_date", "Geburtsdatum", "Birth date", "date", required=True),
    Field("status_group", "Statusgruppe", "Status group", "enum", required=True, choices=STATUS_GROUPS),
    Field("entry_date", "Eintrittsdatum", "Entry date", "date", required=True),
    Field("leaving_date", "Austrittsdatum", "Leaving date", "date"),
    Field("employing_unit", "Beschäftigende Organisationseinheit", "Employing unit", "unit"),
    Field("employee_user", "Benutzerkonto der beschäftigten Person", "Employee's user account", max_length=100,
          help_de="Benutzername, falls die Person ein Konto hat: sie kann dann ihre Akte einsehen."),
)
FIELD_GROUPS = (
    FieldGroup("Person", "Person", ("personnel_number", "name", "birth_date")),
    FieldGroup("Beschäftigung", "Employment", ("status_group", "entry_date", "leaving_date", "employing_unit")),
    FieldGroup("Konto", "Account", ("employee_user",)),
)
TITLE_TEMPLATE = "Personalakte {name} ({personnel_number})"  # when the personnel office gives no title


def _checked_dates(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Derives nothing, refuses a leaving date before the entry date: the leaving date closes the file as of that
    day and its retention runs from it, so a date made up to lie before the service began is refused."""
    leaving, entry = metadata.get("leaving_date"), metadata.get("entry_date")
    if leaving and entry and str(leaving) < str(entry):  # ISO dates, normalised by the fields
        raise FieldError("leaving_date", "the leaving date lies before the entry date",
                         "Das Austrittsdatum liegt vor dem Eintrittsdatum")
    return {}


def personnel_case_type(settings: Mapping[str, Any]) -> CaseType:
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(sorted(unknown))}")
    s = {**DEFAULTS, **settings}
    for key in ("adverse_removal_years", "hearing_days", "access_grant_hours"):
        if not isinstance(s[key], int) or isinstance(s[key], bool) or s[key] < 1:
            raise ValueError(f"{key} must be a whole number of at least 1, got {s[key]!r}")
    reader = str(s["reader_role"])
    # Retention after the file is closed (BBG §113): 5 years for the file (its file plan node), Urlaub 3,
    # Beihilfe and Krankheit 5, payment-relevant records 6.
    subfiles = (
        SubFile("entgelt", "Entgelt/Besoldung", "Pay", retention_years=6),
        SubFile("urlaub", "Urlaub", "Leave", retention_years=3),
        SubFile("krankheit", "Krankheit", "Illness", retention_years=5),
        SubFile("fortbildung", "Fortbildung", "Training"),
        SubFile("beurteilungen", "Beurteilungen", "Appraisals"),
        SubFile("beihilfe", "Beihilfe", "Health-cost aid (Beihilfe)", unit=str(s["beihilfe_unit"]),
                retention_years=5),
    )
    kinds = (
        DocumentKind("document", "Dokument", "Document"),
        DocumentKind("contract", "Arbeitsvertrag/Urkunde", "Contract or certificate of appointment"),
        DocumentKind("letter", "Schreiben", "Letter"),
        DocumentKind("application", "Antrag", "Application"),
        DocumentKind("certificate", "Nachweis/Zeugnis", "Certificate"),
        DocumentKind("appraisal", "Beurteilung", "Appraisal"),
        DocumentKind("pay", "Entgelt-/Besoldungsunterlage", "Pay record"),
        DocumentKind("leave", "Urlaubsunterlage", "Leave record"),
        DocumentKind("sick_note", "Arbeitsunfähigkeitsnachweis", "Sick note"),
        DocumentKind("beihilfe", "Beihilfeantrag/-bescheid", "Beihilfe application or notice"),
        # Adverse items pass the hearing first; the statement is filed by the same flow, beside its item.
        DocumentKind("complaint", "Beschwerde", "Complaint", managed=True),
        DocumentKind("warning", "Abmahnung/Missbilligung", "Warning", managed=True),
        DocumentKind(STATEMENT_KIND, "Stellungnahme der beschäftigten Person", "Employee's statement",
                     managed=True),
    )
    restriction = Restriction(
        reader_roles=tuple(dict.fromkeys((reader, str(s["grant_role"])))), admins_need_reason=bool(
            s["admins_need_reason"]), grant_hours=int(s["access_grant_hours"]), grant_role=str(s["grant_role"]),
        grant_immediately=bool(s["grant_immediately"]), log_reads=True)
    return CaseType(
        key="personnel", label_de="Personalakte", label_en="Personnel file", fields=FIELDS, document_kinds=kinds,
        subfiles=subfiles, restricted=True, restriction=restriction, subject_field="employee_user",
        # One file per employee: their account is the subject of one file only (naming it on a second file
        # would open that file to them by their inspection).
        unique_fields=("personnel_number", "employee_user"), settings=s, derive=_checked_dates,
        title_template=TITLE_TEMPLATE,
        home_unit=str(s["personnel_unit"]), closes_on_field="leaving_date", field_groups=FIELD_GROUPS,
        extra_roles=tuple(sorted({str(s["grant_role"])} - {"clerk", "approver", "auditor", "admin"})),
        unit_settings=(("personnel_unit", str(s["personnel_unit"])), ("beihilfe_unit", str(s["beihilfe_unit"]))),
    )
