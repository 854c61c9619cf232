"""The plugin API for fixed fields: read-only fields, fields frozen after a step, what an approval records."""
from __future__ import annotations

import pytest

from workflows.definition import CaseType, Decision, DefinitionError, ReadOnlyWhen, Step
from workflows.fields import Field

FIELDS = (Field("amount", "Betrag", "Amount", "money"), Field("note", "Notiz", "Note"),
          Field("score", "Wert", "Score", "integer", read_only=True), Field("origin", "Herkunft", "Origin"))
STEPS = (Step("check", "Prüfen", "Check", "clerk", decisions=(Decision("ok", "OK", "OK", "order"),
                                                               Decision("no", "Nein", "No", None, "reject"))),
         Step("order", "Anordnen", "Order", "approver", records=("amount",),
              decisions=(Decision("ok", "OK", "OK", None), Decision("back", "Zurück", "Back", "check", "return"))))


def case_type(**kw) -> CaseType:  # type: ignore[no-untyped-def]
    base = dict(key="t", label_de="T", label_en="T", fields=FIELDS, steps=STEPS, start="check",
                frozen_after={"check": ("amount",)},
                read_only_when=(ReadOnlyWhen(("note",), lambda m: m.get("origin") == "xml", "imported", "importiert"),))
    return CaseType(**{**base, **kw})


def test_locks() -> None:
    ct = case_type()
    ct.validate()
    old = {"amount": "10.00", "note": "n", "origin": "xml", "score": 3}
    assert ct.refused_change(old, {"amount": "10"}, frozenset({"check"})) is None  # the same value: no change
    frozen = ct.refused_change(old, {"amount": "11"}, frozenset({"check"}))
    assert frozen is not None and (frozen.kind, frozen.field, frozen.step) == ("frozen", "amount", "check")
    assert ct.refused_change(old, {"amount": "11"}, frozenset()) is None  # not decided (or voided): writable
    assert ct.refused_change(old, {"amount": None}, frozenset({"check"})) is not None  # removing is changing
    assert ct.refused_change(old, {"score": 4}).kind == "read_only"  # type: ignore[union-attr]
    assert ct.refused_change(old, {"note": "x"}).kind == "read_only"  # type: ignore[union-attr]
    assert ct.refused_change({**old, "origin": "paper"}, {"note": "x"}) is None
    assert ct.approval_record("order", "ok", old) == {"amount": "10.00"}
    assert ct.approval_record("order", "back", old) is None and ct.approval_record("check", "ok", old) is None
    described = ct.describe()
    assert described["frozen_after"] == {"check": ["amount"]}
    assert {f["name"]: f["read_only"] for f in described["fields"]}["score"] is True


@pytest.mark.parametrize("kw, needle", [
    ({"frozen_after": {"nope": ("amount",)}}, "unknown step 'nope'"),
    ({"frozen_after": {"check": ("nope",)}}, "field 'nope' frozen after step 'check'"),
    ({"read_only_when": (ReadOnlyWhen(("nope",), bool, "x", "x"),)}, "read-only field 'nope'"),
    ({"steps": (STEPS[0], Step("order", "A", "O", "approver", records=("nope",),
                               decisions=(Decision("ok", "OK", "OK", None),)))}, "field 'nope' is not declared"),
])
def test_definitions_naming_unknown_steps_or_fields_are_refused(kw: dict, needle: str) -> None:
    with pytest.raises(DefinitionError, match=needle):
        case_type(**kw).validate()
