"""The file plan (Aktenplan): the classification tree that decides retention and disposal."""
from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eakte.errors import Conflict, Invalid, NotFound
from eakte.models import DISPOSAL_ACTIONS, Case, FilePlanNode
from eakte.runtime import Runtime
from eakte.services import audit
from eakte.services.access import Actor, require_admin, visible_cases_filter

_CODE = re.compile(r"^\d{1,4}(\.\d{1,4}){0,5}$")


def add_node(session: Session, actor: Actor, code: str, title: str, retention_years: int,
             disposal: str = "archive") -> FilePlanNode:
    require_admin(actor.principal)
    if not _CODE.match(code):
        raise Invalid(f"code {code!r}: expected dotted digits such as 20.30", detail_de="Aktenplankennzeichen "
                      "erwartet, z. B. 20.30", field="code")
    if not title.strip():
        raise Invalid("title must not be empty", field="title")
    if not 0 <= retention_years <= 200:
        raise Invalid("retention_years: expected 0 to 200", field="retention_years")
    if disposal not in DISPOSAL_ACTIONS:
        raise Invalid(f"disposal: expected one of {', '.join(DISPOSAL_ACTIONS)}", field="disposal")
    if session.execute(select(FilePlanNode).where(FilePlanNode.code == code)).scalar():
        raise Conflict(f"file plan code {code} exists already", detail_de=f"Aktenplanposition {code} gibt es bereits")
    parent = _parent_of(session, code)
    node = FilePlanNode(code=code, title=title.strip(), retention_years=retention_years, disposal=disposal,
                        parent_id=parent.id if parent else None)
    session.add(node)
    session.flush()
    audit.record(session, actor, "file_plan.add", "file_plan_node", node.id,
                 details={"code": code, "title": node.title, "retention_years": retention_years,
                          "disposal": disposal})
    return node


def _parent_of(session: Session, code: str) -> FilePlanNode | None:
    """The nearest existing ancestor by code (20.30.1 → 20.30 → 20)."""
    parts = code.split(".")
    for n in range(len(parts) - 1, 0, -1):
        parent = session.execute(select(FilePlanNode).where(FilePlanNode.code == ".".join(parts[:n]))).scalar()
        if parent:
            return parent
    return None


def list_nodes(session: Session) -> list[FilePlanNode]:
    nodes = list(session.execute(select(FilePlanNode)).scalars())
    return sorted(nodes, key=lambda n: [int(p) for p in n.code.split(".")])


def node_by_code(session: Session, code: str) -> FilePlanNode:
    node = session.execute(select(FilePlanNode).where(FilePlanNode.code == code)).scalar()
    if node is None:
        raise NotFound(f"no file plan node with code {code!r}", detail_de=f"Keine Aktenplanposition {code!r}",
                       field="file_plan_code")
    return node


# --- units of work: each opens and ends its own transaction (the API calls these, never a session) -----------

def create_node(rt: Runtime, actor: Actor, code: str, title: str, retention_years: int,
                disposal: str) -> tuple[FilePlanNode, list[FilePlanNode]]:
    """Add a node; returns it with the whole plan (to name its parent)."""
    with rt.db.write() as session:
        node = add_node(session, actor, code, title, retention_years, disposal)
        return node, list_nodes(session)


def file_plan(rt: Runtime) -> list[FilePlanNode]:
    with rt.db.read() as session:
        return list_nodes(session)


def plan_with_case_counts(rt: Runtime, actor: Actor) -> list[tuple[FilePlanNode, int]]:
    """Every node with the number of cases filed directly under it, of every unit (admins only: the counts
    reach across units), of those cases the admin may see: personnel files read only with a recorded reason
    stay out of the counts too (`visible_cases_filter`)."""
    require_admin(actor.principal)
    with rt.db.read() as session:
        counts = dict(session.execute(select(Case.file_plan_node_id, func.count())
                                      .where(visible_cases_filter(actor.principal))
                                      .group_by(Case.file_plan_node_id)).all())
        return [(node, counts.get(node.id, 0)) for node in list_nodes(session)]
