"""What a case type declares about its cases beyond the fields, applied when a case is created or changed: the one
unit that keeps them (`home_unit`), the title made from the fields (`title_template`), the values that identify
at most one case (`unique_fields`, kept in `CaseKey`), the person the file is about (`subject_field`, resolved to
`Case.subject_user_id`), and the date field that closes the case (`closes_on_field`)."""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from eakte.errors import Conflict, Invalid
from eakte.models import Case, CaseKey, User
from workflows.definition import CaseType


def require_home_unit(case_type: CaseType, unit_code: str) -> None:
    if case_type.home_unit is not None and unit_code != case_type.home_unit:
        raise Invalid(f"unit: cases of type {case_type.key!r} are kept by unit {case_type.home_unit} only",
                      field="unit", detail_de=f"Eine {case_type.label_de} wird nur von der Organisationseinheit "
                                              f"{case_type.home_unit} geführt")


def title_for(case_type: CaseType, title: str | None, metadata: Mapping[str, Any]) -> str | None:
    """The given title, or (when none is given) the one the type's template makes from the fields. None: no
    title at all (the caller's `required_title` names the problem). A field the template needs is named."""
    if (title or "").strip() or case_type.title_template is None:
        return title
    missing = next((n for n in case_type.title_fields() if metadata.get(n) in (None, "")), None)
    if missing is not None:
        raise Invalid(f"metadata.{missing}: needed for the title (or give a title)", field=f"metadata.{missing}",
                      detail_de=f"metadata.{missing}: wird für den Betreff benötigt (oder geben Sie einen Betreff "
                                "an)")
    return case_type.derived_title(metadata)


def retitled(case_type: CaseType, title: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """A title made from the fields follows them (a name changed on marriage); one typed by hand stays. None: the
    title stays as it is."""
    before, after = case_type.derived_title(old), case_type.derived_title(new)
    return after if before is not None and title == before and after not in (None, before) else None


def subject_user_id(session: Session, case_type: CaseType, metadata: Mapping[str, Any]) -> int | None:
    """The account the `subject_field` names; an unknown user name is refused at that field."""
    name = case_type.subject_field
    username = metadata.get(name) if name else None
    if name is None or username in (None, ""):
        return None
    user_id = session.execute(select(User.id).where(User.username == username)).scalar()
    if user_id is None:
        raise Invalid(f"metadata.{name}: no user {username!r}", field=f"metadata.{name}",
                      detail_de=f"metadata.{name}: Es gibt kein Benutzerkonto »{username}«")
    return int(user_id)


def _duplicate(case_type: CaseType, name: str, value: str) -> Conflict:
    return Conflict(f"metadata.{name}: {value!r} is the {name} of another case of type {case_type.key!r}",
                    field=f"metadata.{name}",
                    detail_de=f"metadata.{name}: »{value}« ist bereits für eine andere {case_type.label_de} "
                              "vergeben")


def write_keys(session: Session, case_type: CaseType, case: Case, metadata: Mapping[str, Any]) -> None:
    """Keep the case's `CaseKey` rows equal to its unique fields' values. A value another case holds is refused
    (409 naming the field); the unique constraint refuses it too when two requests race past the check."""
    if not case_type.unique_fields:
        return
    held = {k.name: k for k in session.execute(select(CaseKey).where(CaseKey.case_id == case.id)).scalars()}
    wanted = {n: str(metadata[n]) for n in case_type.unique_fields if metadata.get(n) not in (None, "")}
    for name, value in wanted.items():
        if name in held and held[name].value == value:
            continue
        taken = session.execute(select(CaseKey.id).where(CaseKey.case_type == case_type.key,
                                                         CaseKey.name == name, CaseKey.value == value,
                                                         CaseKey.case_id != case.id)).first()
        if taken:
            raise _duplicate(case_type, name, value)
        if name in held:
            held[name].value = value
        else:
            session.add(CaseKey(case_id=case.id, case_type=case_type.key, name=name, value=value))
        # Flushed one at a time, so a lost race names its field.
        try:
            session.flush()
        except IntegrityError:
            raise _duplicate(case_type, name, value) from None
    gone = [k.id for n, k in held.items() if n not in wanted]
    if gone:
        session.execute(delete(CaseKey).where(CaseKey.id.in_(gone)))


def closing_day(case_type: CaseType, metadata: Mapping[str, Any], today: dt.date) -> dt.date | None:
    """The date `closes_on_field` holds, once it has come (None: not set, or still in the future)."""
    raw = metadata.get(case_type.closes_on_field) if case_type.closes_on_field else None
    if raw in (None, ""):
        return None
    day = dt.date.fromisoformat(str(raw))  # normalised by the field's validation
    return day if day <= today else None
