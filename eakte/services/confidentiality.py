"""Confidentiality levels (xdomea Vertraulichkeitsstufe) of cases: choosing one at creation, raising and lowering.

Who may see a case of a level is decided in `eakte.services.access` (the one visibility rule); here: which level
a case may get, and who may change it — raising it is open to whoever may change the case, lowering it needs the
lowering role (head of unit) in the case's unit, or an admin."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from eakte.clock import utcnow
from eakte.config import ConfidentialityLevel, ConfidentialitySettings
from eakte.errors import Forbidden, Invalid
from eakte.models import Case
from eakte.runtime import Runtime
from eakte.services import audit
from eakte.services.access import Actor, Principal, can_change_case, can_lower_confidentiality, require_view_case

FIELD = "confidentiality"


def checked_key(c: ConfidentialitySettings, key: str) -> str:
    """`key` if it is a configured level, else Invalid (422) naming the field and the levels."""
    if c.level(key) is None:
        raise Invalid(f"{FIELD}: unknown level {key!r} (expected one of {', '.join(c.keys)})", field=FIELD,
                      detail_de=f"Unbekannte Vertraulichkeitsstufe {key!r}")
    return key


def set_level(session: Session, actor: Actor, case: Case, key: str) -> bool:
    """Give `case` (locked, open, visible to the actor) the level `key`; audited with old and new level.
    Returns whether the level changed. A raise above the actor's own role is allowed: it hides the case from them
    too, which is what raising means."""
    p = actor.principal
    c = p.confidentiality
    checked_key(c, key)
    old = case.confidentiality
    if key == old:
        return False
    lowering = c.position(key) < c.position(old)
    if lowering and not can_lower_confidentiality(p, case):
        lower_role = c.lower_role
        raise Forbidden(f"{FIELD}: lowering the level of this case needs the role {lower_role} in unit "
                        f"{case.unit.code}", field=FIELD,
                        detail_de="Eine Herabstufung der Vertraulichkeit ist nur der Amtsleitung (oder der "
                                  f"Administration) von {case.unit.name} erlaubt")
    if not lowering and not can_change_case(p, case):
        raise Forbidden(f"{FIELD}: raising the level needs the clerk role in unit {case.unit.code}", field=FIELD,
                        detail_de=f"Für eine Höherstufung ist die Rolle Sachbearbeitung in {case.unit.name} nötig")
    case.confidentiality = key
    case.updated_at = utcnow()
    audit.record(session, actor, "case.confidentiality_changed", "case", case.id, case_id=case.id,
                 details={"old": old, "new": key, "xdomea_code_old": c.effective(old).xdomea_code,
                          "xdomea_code_new": c.effective(key).xdomea_code})
    return True


@dataclass(frozen=True)
class LevelChoice:
    level: ConfidentialityLevel
    current: bool
    # Whether the caller may set it on this case (raising: who may change the case; lowering: the head of unit).
    allowed: bool


def choices(p: Principal, case: Case) -> list[LevelChoice]:
    """The levels as the case page offers them: the same rule `set_level` enforces."""
    c = p.confidentiality
    here = c.position(case.confidentiality)
    may_raise = can_change_case(p, case) and case.status == "open"
    may_lower = can_lower_confidentiality(p, case) and case.status == "open"
    out = []
    for i, level in enumerate(c.levels):
        current = level.key == case.confidentiality
        allowed = current or (may_lower if i < here else may_raise if i > here else False)
        out.append(LevelChoice(level, current, allowed))
    return out


def level_choices(rt: Runtime, actor: Actor, case_id: int) -> list[LevelChoice]:
    """The case page's choice of levels, for a case the caller may see (NotFound otherwise)."""
    with rt.db.read() as session:
        case = require_view_case(actor.principal, session.get(Case, case_id))
        return choices(actor.principal, case)
