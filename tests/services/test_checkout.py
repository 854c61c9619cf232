"""Check-out and document kinds at the service layer: the refusal lives where every version goes through
(documents.add_version), the helper a move calls (checkout.require_not_held_by_other), and the kinds a case
type without declared kinds takes."""
from __future__ import annotations

import io

import pytest

from eakte.errors import CheckedOut, Conflict, Invalid
from eakte.services import cases, checkout, documents, identity
from eakte.services.access import Actor, load_principal
from tests.conftest import OPERATOR, build_town
from tests.helpers import pdf_bytes
from workflows import load_registry
from workflows.definition import CaseType

BARE = CaseType(key="bare", label_de="Ohne Arten", label_en="No kinds", open_schema=True)


def _actor(rt, username: str) -> Actor:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return Actor(load_principal(session, identity.user_by_name(session, username), {}), "test")


@pytest.fixture
def env(rt):  # type: ignore[no-untyped-def]
    rt.__dict__["registry"] = load_registry(extra={"bare": BARE})
    build_town(rt)
    with rt.db.write() as session:
        identity.create_user(session, OPERATOR, "anton", roles=[identity.UnitRole("20", "clerk")])
    anna, anton = _actor(rt, "anna"), _actor(rt, "anton")
    with rt.db.write() as session:
        case = cases.create_case(session, anna, cases.NewCase("20.30", "Akte", "20"), rt.registry)
    doc = documents.add_document(rt, anna, case.id, documents.NewDocument("Brief", "letter"),
                                 documents.Upload(io.BytesIO(pdf_bytes()), "a.pdf"))
    return rt, anna, anton, doc.document.id


def _upload(text: str = "neu") -> documents.Upload:
    return documents.Upload(io.BytesIO(pdf_bytes(text)), f"{text}.pdf")


def test_add_version_and_the_move_helper_refuse_everyone_but_the_holder(env) -> None:  # type: ignore[no-untyped-def]
    rt, anna, anton, doc_id = env
    checkout.check_out(rt, anna, doc_id)
    with pytest.raises(CheckedOut) as refused:
        documents.add_version(rt, anton, doc_id, _upload())
    assert refused.value.holder == "anna" and refused.value.status == 409 and refused.value.since.endswith("Z")
    with rt.db.read() as session:
        document = documents.get_document(session, anna, doc_id, registry=rt.registry)
        checkout.require_not_held_by_other(document, anna)  # the holder may
        with pytest.raises(CheckedOut):
            checkout.require_not_held_by_other(document, anton)
    # The holder's own plain version keeps the lock; the check-in ends it.
    assert documents.add_version(rt, anna, doc_id, _upload("zwei")).document.checked_out_by is not None
    result = checkout.check_in(rt, anna, doc_id, _upload("drei"))
    assert result.version.number == 3 and result.document.checked_out_by is None
    assert documents.add_version(rt, anton, doc_id, _upload("vier")).version.number == 4
    with pytest.raises(Conflict):
        checkout.check_in(rt, anton, doc_id, _upload("fünf"))  # nothing checked out


def test_state_offers_what_the_rules_allow(env) -> None:  # type: ignore[no-untyped-def]
    rt, anna, anton, doc_id = env
    free = checkout.checkout_state(rt, anton, doc_id)
    assert free.holder is None and free.may_check_out and free.may_add_version and not free.may_break
    checkout.check_out(rt, anna, doc_id)
    mine, theirs = checkout.checkout_state(rt, anna, doc_id), checkout.checkout_state(rt, anton, doc_id)
    assert mine.held_by_me and mine.may_check_in and mine.may_cancel and not mine.may_add_version
    assert theirs.holder is not None and theirs.holder.username == "anna"
    assert not (theirs.may_check_out or theirs.may_check_in or theirs.may_cancel or theirs.may_add_version)
    assert checkout.checkout_state(rt, _actor(rt, "admin"), doc_id).may_break


def test_a_case_type_without_declared_kinds_takes_the_generic_kind_only(env) -> None:  # type: ignore[no-untyped-def]
    rt, anna, _anton, _doc_id = env
    with rt.db.write() as session:
        case = cases.create_case(session, anna, cases.NewCase("20.30", "Ohne", "20", "bare"), rt.registry)
    assert [k.key for k in documents.allowed_kinds(rt, "bare")] == ["document"]
    assert documents.add_document(rt, anna, case.id, documents.NewDocument("Dokument"), _upload()).document.kind \
        == "document"
    with pytest.raises(Invalid) as refused:
        documents.add_document(rt, anna, case.id, documents.NewDocument("Brief", "letter"), _upload())
    assert refused.value.extra == {"field": "kind", "allowed": ["document"]}
    invoice_kinds = [k.key for k in documents.allowed_kinds(rt, "invoice")]
    assert invoice_kinds == ["invoice", "delivery_note", "correspondence"]
