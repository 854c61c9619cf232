"""The levy's table versions (workflows.levy.tables) and the calculator: which version is active, loading a TOML
table and confirming a version (admins only, audited), the list of versions, and computing with the active one.

A loaded version never changes (only its confirmation is set, once); the active version is the newest loaded
one, else the built-in default, which is unconfirmed until an admin confirms it (that stores it as a version).
Every computation names the table's label and sha256."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from eakte.clock import utcnow
from eakte.errors import Conflict, Forbidden, Invalid, NotFound
from eakte.models import LevyTableVersion, Unit, User
from eakte.runtime import Runtime
from eakte.services import audit
from eakte.services.access import Actor, Principal
from workflows.levy.compute import LevyInputError, LevyResult, compute_levy, parse_compute_request
from workflows.levy.tables import DEFAULT_LABEL, LevyTables, TablesError, default_tables, parse_tables, \
    parse_tables_toml

MAX_TOML = 200_000  # characters: a full table of seven Mietenstufen is a few kilobytes
MAX_NOTE = 1000


@dataclass(frozen=True)
class ActiveTables:
    tables: LevyTables
    version_id: int | None  # None: the built-in default, not stored
    label: str
    sha256: str
    confirmed: bool


@dataclass(frozen=True)
class TableVersionRow:
    id: int | None  # None: the built-in default (not stored until confirmed)
    label: str
    sha256: str
    note: str | None
    loaded_at: dt.datetime | None
    loaded_by: str | None
    confirmed_at: dt.datetime | None
    confirmed_by: str | None
    builtin: bool  # the built-in default (stored or not)
    active: bool

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


@dataclass(frozen=True)
class Calculation:
    result: LevyResult
    active: ActiveTables


def tables_invalid(exc: TablesError, field: str = "toml") -> Invalid:
    """A table refused: 422 naming the request field (the TOML) and, in `path`, the place inside it."""
    return Invalid(f"{field}: {exc}", field=field, path=exc.path,
                   detail_de=f"Tabelle ungültig – {exc.path + ': ' if exc.path else ''}{exc.message_de}")


def input_invalid(exc: LevyInputError) -> Invalid:
    """A computation's input refused: 422 naming the field (as the schema errors do, in `errors` too)."""
    return Invalid(f"{exc.field}: {exc.message}", field=exc.field, detail_de=f"{exc.field}: {exc.message_de}",
                   errors=[{"location": "json", "field": exc.field, "messages": [exc.message],
                            "messages_de": [exc.message_de]}])


def _stored(row: LevyTableVersion) -> LevyTables:
    """A stored version's tables, checked against its hash: a version that was altered is refused."""
    try:
        tables = parse_tables(row.content, row.label)
    except TablesError as exc:
        raise Conflict(f"the stored levy table {row.label} cannot be read ({exc})",
                       detail_de=f"Die gespeicherte Tabelle {row.label} ist nicht lesbar") from None
    if tables.sha256 != row.sha256:
        raise Conflict(f"the stored levy table {row.label} does not match its sha256",
                       detail_de=f"Die gespeicherte Tabelle {row.label} stimmt nicht mit ihrer Prüfsumme überein")
    return tables


def _newest(session: Session) -> LevyTableVersion | None:
    # Newest by id (the order of loading), not by loaded_at: a clock set back must not change the active table.
    return session.execute(select(LevyTableVersion).order_by(LevyTableVersion.id.desc()).limit(1)).scalar()


def active_tables(session: Session) -> ActiveTables:
    """The newest loaded version, else the built-in default (unconfirmed)."""
    row = _newest(session)
    if row is None:
        tables = default_tables()
        return ActiveTables(tables, None, tables.label, tables.sha256, False)
    return ActiveTables(_stored(row), row.id, row.label, row.sha256, row.confirmed_at is not None)


# --- who may ------------------------------------------------------------------------------------------------

def _levy_unit_id(rt: Runtime, session: Session) -> int | None:
    case_type = rt.registry.get("levy")
    if case_type is None:
        return None
    code = str(case_type.settings.get("unit") or case_type.home_unit or "")
    return session.execute(select(Unit.id).where(Unit.code == code)).scalar()


def may_use(rt: Runtime, session: Session, p: Principal) -> bool:
    """The calculator and the list of versions: members of the levy unit (any role), auditors and admins."""
    unit_id = _levy_unit_id(rt, session)
    return p.is_admin or p.is_auditor or (unit_id is not None and unit_id in p.roles_by_unit)


def _require_user(rt: Runtime, session: Session, p: Principal) -> None:
    if not may_use(rt, session, p):
        raise Forbidden("the levy calculator and tables are for the levy unit, auditors and admins",
                        detail_de="Den Rechner und die Tabellen der Fehlbelegungsabgabe nutzen nur das Amt für "
                                  "Wohnungswesen, die Prüfung und die Administration")


def _require_admin(p: Principal) -> None:
    if not p.is_admin:
        raise Forbidden("only admins load or confirm levy tables",
                        detail_de="Tabellen der Fehlbelegungsabgabe laden oder bestätigen nur Administratoren")
    if not p.user_id:  # loaded_by/confirmed_by name a user: the server's operator is none
        raise Conflict("the levy tables are loaded and confirmed by a named admin (not the operator)",
                       detail_de="Tabellen lädt und bestätigt eine benannte Administratorin oder ein benannter "
                                 "Administrator")


# --- reading ------------------------------------------------------------------------------------------------

def _names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(wanted))).all())


def _row(version: LevyTableVersion, names: Mapping[int, str], active_id: int | None) -> TableVersionRow:
    return TableVersionRow(version.id, version.label, version.sha256, version.note, version.loaded_at,
                           names.get(version.loaded_by), version.confirmed_at,
                           names.get(version.confirmed_by) if version.confirmed_by else None,
                           version.label == DEFAULT_LABEL, version.id == active_id)


def list_versions(rt: Runtime, actor: Actor) -> list[TableVersionRow]:
    """Every version, newest first; the built-in default last, while it is not stored (unconfirmed)."""
    with rt.db.read() as session:
        _require_user(rt, session, actor.principal)
        versions = list(session.execute(select(LevyTableVersion).order_by(LevyTableVersion.id.desc())).scalars())
        names = _names(session, {v.loaded_by for v in versions} | {v.confirmed_by for v in versions})
        active_id = versions[0].id if versions else None
        rows = [_row(v, names, active_id) for v in versions]
        if not any(v.label == DEFAULT_LABEL for v in versions):
            default = default_tables()
            rows.append(TableVersionRow(None, default.label, default.sha256, None, None, None, None, None, True,
                                        not versions))
        return rows


def active(rt: Runtime, actor: Actor) -> ActiveTables:
    with rt.db.read() as session:
        _require_user(rt, session, actor.principal)
        return active_tables(session)


def calculate(rt: Runtime, actor: Actor, payload: Mapping[str, Any]) -> Calculation:
    """The calculator: the payload (parse_compute_request's shape) computed with the active tables."""
    with rt.db.read() as session:
        _require_user(rt, session, actor.principal)
        current = active_tables(session)
    try:
        result = compute_levy(parse_compute_request(payload), current.tables)
    except LevyInputError as exc:
        raise input_invalid(exc) from None
    return Calculation(result, current)


# --- writing (admins) ---------------------------------------------------------------------------------------

def _label_free(session: Session, label: str) -> None:
    if label == DEFAULT_LABEL:
        raise Invalid(f"label: {DEFAULT_LABEL} is the built-in default's", field="label",
                      detail_de=f"Die Bezeichnung {DEFAULT_LABEL} ist den Standardwerten vorbehalten")
    if session.execute(select(LevyTableVersion.id).where(LevyTableVersion.label == label)).scalar() is not None:
        raise Conflict(f"a levy table labelled {label!r} exists already", field="label",
                       detail_de=f"Eine Tabelle mit der Bezeichnung {label!r} gibt es schon")


def load_tables(rt: Runtime, actor: Actor, toml_text: str, label: str, note: str | None = None) -> TableVersionRow:
    """Store a new version from TOML (validated whole before anything is stored); it becomes the active one,
    unconfirmed."""
    _require_admin(actor.principal)
    label = (label or "").strip()
    note = (note or "").strip() or None
    if not label:
        raise Invalid("label: required", field="label", detail_de="Bitte eine Bezeichnung angeben")
    if note is not None and len(note) > MAX_NOTE:
        raise Invalid(f"note: at most {MAX_NOTE} characters", field="note",
                      detail_de=f"Der Hinweis darf höchstens {MAX_NOTE} Zeichen haben")
    if not isinstance(toml_text, str) or not toml_text.strip():
        raise Invalid("toml: the table is empty", field="toml", detail_de="Bitte die Tabelle (TOML) angeben")
    if len(toml_text) > MAX_TOML:
        raise Invalid(f"toml: at most {MAX_TOML} characters", field="toml",
                      detail_de=f"Die Tabelle darf höchstens {MAX_TOML} Zeichen haben")
    try:
        tables = parse_tables_toml(toml_text, label)
    except TablesError as exc:
        raise (Invalid(f"label: {exc.message}", field="label", detail_de=f"Bezeichnung: {exc.message_de}")
               if exc.path == "label" else tables_invalid(exc)) from None
    with rt.db.write() as session:
        _label_free(session, label)
        version = LevyTableVersion(label=label, content=tables.to_json(), sha256=tables.sha256, note=note,
                                   loaded_by=actor.principal.user_id)
        session.add(version)
        session.flush()
        audit.record(session, actor, "levy.tables.loaded", "levy_table_version", version.id,
                     details={"label": label, "sha256": tables.sha256, "note": note})
        return _row(version, _names(session, {version.loaded_by}), version.id)


def confirm_tables(rt: Runtime, actor: Actor, version_id: int | str) -> TableVersionRow:
    """Confirm a version once ("default": the built-in tables, stored as a version by this)."""
    _require_admin(actor.principal)
    with rt.db.write() as session:
        if version_id == "default":
            default = default_tables()
            if session.execute(select(LevyTableVersion.id)
                               .where(LevyTableVersion.label == DEFAULT_LABEL)).scalar() is not None:
                raise Conflict("the built-in default tables are confirmed already",
                               detail_de="Die Standardwerte sind bereits bestätigt")
            if _newest(session) is not None:
                # Confirming stores the default as the newest version, which would silently replace the table
                # in force; switching back is a load of its own, with its label and note.
                raise Conflict("a loaded table is in force: confirming the defaults would replace it",
                               detail_de="Es gilt bereits eine geladene Tabelle; die Standardwerte können nur "
                                         "bestätigt werden, solange keine andere Tabelle geladen ist")
            version = LevyTableVersion(label=default.label, content=default.to_json(), sha256=default.sha256,
                                       note="Standardwerte (DOMAIN.md §6), von der Gemeinde bestätigt",
                                       loaded_by=actor.principal.user_id)
            session.add(version)
            session.flush()
        else:
            if isinstance(version_id, bool) or not isinstance(version_id, int):
                raise Invalid("version: a version id or 'default'", field="version",
                              detail_de="Bitte die Nummer einer Tabellenversion oder „default“ angeben")
            version = session.get(LevyTableVersion, version_id, with_for_update=True)
            if version is None:
                raise NotFound(f"no levy table version {version_id}",
                               detail_de="Keine Tabellenversion mit dieser Nummer")
            if version.confirmed_at is not None:
                raise Conflict(f"the levy table {version.label} is confirmed already",
                               detail_de=f"Die Tabelle {version.label} ist bereits bestätigt")
            _stored(version)  # an altered version is not confirmed
        version.confirmed_at = utcnow()
        version.confirmed_by = actor.principal.user_id
        session.flush()
        audit.record(session, actor, "levy.tables.confirmed", "levy_table_version", version.id,
                     details={"label": version.label, "sha256": version.sha256})
        newest = _newest(session)
        return _row(version, _names(session, {version.loaded_by, version.confirmed_by}),
                    newest.id if newest is not None else None)
