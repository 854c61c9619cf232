"""Reference numbers are unique and gap-free per file-plan node and year, even under concurrent creation."""
from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from eakte.errors import Invalid
from eakte.models import Case
from eakte.services import cases, identity
from eakte.services.access import Actor, load_principal


def _anna(rt) -> Actor:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return Actor(load_principal(session, identity.user_by_name(session, "anna"), {}))


def _create(rt, actor: Actor, title: str) -> str:  # type: ignore[no-untyped-def]
    with rt.db.write() as session:
        return cases.create_case(session, actor, cases.NewCase("20.30", title, "20"), rt.registry).reference


def test_concurrent_creation_is_gap_free(rt, town) -> None:
    actor = _anna(rt)
    with ThreadPoolExecutor(max_workers=10) as pool:
        refs = list(pool.map(lambda i: _create(rt, actor, f"Akte {i}"), range(50)))
    year = dt.datetime.now().year
    numbers = sorted(int(r.split("/")[1]) for r in refs)
    assert numbers == list(range(1, 51))
    assert len(set(refs)) == 50
    assert all(r.endswith(f"/{year}") and r.startswith("20.30/") for r in refs)


def test_failed_creation_leaves_no_gap(rt, town) -> None:
    actor = _anna(rt)
    assert _create(rt, actor, "eins").split("/")[1] == "0001"
    with pytest.raises(Invalid):
        with rt.db.write() as session:
            case = cases.create_case(session, actor, cases.NewCase("20.30", "zwei", "20"), rt.registry)
            assert case.number == 2
            raise Invalid("abort after the number was drawn")
    assert _create(rt, actor, "drei").split("/")[1] == "0002"
    with rt.db.read() as session:
        assert [c.number for c in session.execute(select(Case).order_by(Case.number)).scalars()] == [1, 2]
