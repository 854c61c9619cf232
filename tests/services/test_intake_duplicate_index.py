"""Intake keeps up (issue 8 point 16): the duplicate check at invoice intake is answered from ix_cases_invoice_number
instead of reading the JSON of every invoice case, and still refuses a duplicate."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, update

from eakte.errors import Conflict
from eakte.models import Case
from eakte.services import cases, identity, invoices
from eakte.services.access import Actor, load_principal
from tests.conftest import build_town, make_runtime


def test_duplicate_check_uses_the_invoice_number_index_on_sqlite(tmp_path: Path) -> None:
    rt = make_runtime(tmp_path, f"sqlite:///{tmp_path / 'eakte.db'}")
    seen: list[tuple[str, Any]] = []

    def note(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "FROM cases" in statement:
            seen.append((statement, parameters))

    event.listen(rt.db.engine, "before_cursor_execute", note)
    try:
        with rt.db.write() as session:
            invoices._refuse_duplicate(session, {"invoice_number": "R-1", "seller_name": "Lieferant GmbH"}, None)
        [(sql, params)] = seen
        with rt.db.engine.connect() as conn:
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "ix_cases_invoice_number" in plan, plan
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", note)
        rt.close()


def test_duplicate_check_still_finds_the_earlier_invoice(tmp_path: Path, db_url: str) -> None:
    rt = make_runtime(tmp_path, db_url)
    try:
        build_town(rt)
        with rt.db.read() as session:
            anna = Actor(load_principal(session, identity.user_by_name(session, "anna"), {}))
        with rt.db.write() as session:
            case = cases.create_case(session, anna, cases.NewCase("20.30", "Rechnung R-1", "20"), rt.registry)
            # Filed as an invoice would be (its fields are the system's to write, not the clerk's).
            session.execute(update(Case).where(Case.id == case.id).values(
                case_type="invoice", metadata_={"invoice_number": "R-1", "seller_name": "Lieferant GmbH"}))
            reference = case.reference
        with rt.db.read() as session:
            with pytest.raises(Conflict, match=f"filed before as case {reference}"):
                invoices._refuse_duplicate(session, {"invoice_number": "R-1", "seller_name": "Lieferant GmbH"}, None)
            invoices._refuse_duplicate(session, {"invoice_number": "R-1", "seller_name": "Lieferant GmbH"},
                                       "Zweitschrift")  # with a reason it may be filed again
            invoices._refuse_duplicate(session, {"invoice_number": "R-2", "seller_name": "Lieferant GmbH"}, None)
            invoices._refuse_duplicate(session, {"invoice_number": "R-1", "seller_name": "Andere AG"}, None)
    finally:
        rt.close()
