"""The demo's personnel office (issue 12 point 9): the Beihilfestelle, a personnel clerk, the head of personnel,
a Beihilfe clerk and an employee account; Erika Muster's real personnel file (her account its subject, the
Arbeitsvertrag in the Grundakte, a Beihilfe document in the Beihilfe sub-file) and a second file whose warning
awaits the employee's hearing."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from eakte.models import AdverseItem, Case, CaseKey, Document, Membership, Procedure, Unit, User
from eakte.demo import demo_settings, seed_demo
from tests.conftest import make_runtime


def test_demo_seeds_the_personnel_files(tmp_path: Path, db_url: str) -> None:
    rt = make_runtime(tmp_path, db_url)
    rt.settings = demo_settings(rt.settings)  # as `eakte demo` does, before the case types load
    try:
        logins = {login.username: login.roles for login in seed_demo(rt)}
        with rt.db.read() as session:
            users = {u.username: u.id for u in session.execute(select(User)).scalars()}
            roles = {(u, c, r) for u, c, r in session.execute(
                select(User.username, Unit.code, Membership.role).join(Membership, Membership.user_id == User.id)
                .join(Unit, Unit.id == Membership.unit_id))}
            files = list(session.execute(select(Case).where(Case.case_type == "personnel")
                                         .order_by(Case.id)).scalars())
            keys = sorted(session.execute(select(CaseKey.value).where(CaseKey.name == "personnel_number")).scalars())
            docs = [(d.title, d.kind, p) for d, p in session.execute(
                select(Document, Procedure.subfile).outerjoin(Procedure, Procedure.id == Document.procedure_id)
                .where(Document.case_id == files[0].id).order_by(Document.id))]
            items = list(session.execute(select(AdverseItem)).scalars())
            general = session.execute(select(Case.id).where(Case.title.like("Personalakte%"),
                                                            Case.case_type != "personnel")).first()
    finally:
        rt.close()
    assert ("petra", "11", "clerk") in roles and ("beate", "11.1", "clerk") in roles
    assert {("helga", "11", "clerk"), ("helga", "11", "head_of_unit")} <= roles
    assert not any(u == "erika" for u, _c, _r in roles)  # the employee holds no unit
    assert {"petra", "helga", "beate", "erika"} <= set(logins)
    assert logins["erika"] == "employee (no unit)"
    erika, jonas = files
    assert erika.title == "Personalakte Muster, Erika (P-1001)" and erika.unit.code == "11"
    assert erika.subject_user_id == users["erika"] and erika.status == "open"
    assert jonas.title == "Personalakte Beispiel, Jonas (P-1002)" and jonas.subject_user_id is None
    assert keys == ["P-1001", "P-1002"]
    assert ("Arbeitsvertrag", "contract", None) in docs
    assert [(t, k) for t, k, sub in docs if sub == "beihilfe"] == [("Beihilfeantrag Zahnbehandlung", "beihilfe")]
    assert [(i.case_id, i.kind, i.status) for i in items] == [(jonas.id, "warning", "hearing")]
    assert general is None  # the former general "Personalakte" case is now the real personnel file
