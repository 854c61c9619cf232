"""The plugin API and the pure engine, without a database."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from workflows import engine
from workflows.definition import Actor, CaseType, Decision, DefinitionError, NotSameAs, Step
from workflows.fields import Field
from workflows.registry import load_registry

NOW = dt.datetime(2026, 11, 24, 9, 0)
CASE = engine.CaseState(1, "10/0001/2026", "10", {"amount": "100.00"})


def _cosign_type() -> CaseType:
    return CaseType(
        key="memo", label_de="Vorlage", label_en="Memo", fields=(Field("amount", "Betrag", "Amount", "money"),),
        start="draft",
        steps=(
            Step("draft", "Entwurf", "Draft", "clerk", decisions=(Decision("submit", "Vorlegen", "Submit", "cosign"),)),
            Step("cosign", "Mitzeichnung", "Co-signing", "approver", units=("20", "32"), instruction="cosign",
                 decisions=(Decision("approve", "Mitzeichnen", "Co-sign", "final"),
                            Decision("return", "Zurück", "Return", "draft", "return"))),
            Step("final", "Schlusszeichnung", "Final signing", "approver", guards=(NotSameAs(("cosign",)),),
                 decisions=(Decision("sign", "Zeichnen", "Sign", None),)),
        ))


def _tasks(new: tuple[engine.NewTask, ...], start_id: int) -> list[engine.TaskState]:
    return [engine.TaskState(start_id + i, t.step, t.unit, t.role, "open") for i, t in enumerate(new)]


def test_parallel_cosigning_waits_for_all_units() -> None:
    ct = _cosign_type()
    ct.validate()
    drafts = _tasks(engine.start(ct, CASE, NOW), 1)
    out = engine.decide(ct, CASE, drafts, 1, Actor(5, frozenset({("10", "clerk")})), "submit", "", {}, NOW)
    assert [t.unit for t in out.new_tasks] == ["20", "32"] and out.entered == "cosign"
    cosign = _tasks(out.new_tasks, 2)
    first = engine.decide(ct, CASE, cosign, 2, Actor(6, frozenset({("20", "approver")})), "approve", "", {}, NOW)
    assert first.waiting and not first.new_tasks
    cosign[0] = replace(cosign[0], status="done", decided_by=6)
    last = engine.decide(ct, CASE, cosign, 3, Actor(7, frozenset({("32", "approver")})), "approve", "", {}, NOW)
    assert last.entered == "final" and [t.unit for t in last.new_tasks] == ["10"]
    # A return by one co-signer acts at once and cancels the other unit's task.
    ret = engine.decide(ct, CASE, _tasks(out.new_tasks, 2), 2, Actor(6, frozenset()), "return", "Zahl falsch", {}, NOW)
    assert ret.entered == "draft" and ret.cancel == (3,)
    final = _tasks(last.new_tasks, 4)
    with pytest.raises(engine.WorkflowRefused) as refused:
        engine.decide(ct, CASE, final, 4, Actor(6, frozenset()), "sign", "", {"cosign": frozenset({6, 7})}, NOW)
    assert refused.value.kind == "forbidden"
    done = engine.decide(ct, CASE, final, 4, Actor(8, frozenset()), "sign", "", {"cosign": frozenset({6, 7})}, NOW)
    assert done.finished == "completed"


@pytest.mark.parametrize("change, message", [
    (lambda ct: replace(ct, start="nowhere"), "start step 'nowhere' is not defined"),
    (lambda ct: replace(ct, steps=ct.steps + (Step("orphan", "x", "x", "clerk",
                                                   decisions=(Decision("ok", "x", "x", None),)),)),
     "unreachable step(s) orphan"),
    (lambda ct: replace(ct, steps=(replace(ct.steps[0], role="wizard"),) + ct.steps[1:]), "unknown role 'wizard'"),
    (lambda ct: replace(ct, steps=(replace(ct.steps[0], decisions=(Decision("go", "x", "x", "mars"),)),)
                        + ct.steps[1:]), "unknown step 'mars'"),
    (lambda ct: replace(ct, steps=(replace(ct.steps[0], units=("$field:nope",)),) + ct.steps[1:]),
     "unit field 'nope' is not declared"),
    (lambda ct: replace(ct, steps=ct.steps[:2] + (replace(ct.steps[2], guards=(NotSameAs(("ghost",)),)),)),
     "unknown step 'ghost'"),
])
def test_broken_definitions_are_named(change, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DefinitionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        change(_cosign_type()).validate()


def test_registry_loads_built_in_types_through_entry_points() -> None:
    registry = load_registry({"invoice": {"receipt_unit": "21"}})
    assert {"general", "invoice"} <= set(registry.types)
    assert registry.get("invoice").step("eingang").units == ("21",)  # type: ignore[union-attr]
    assert {"head_of_unit", "mayor"} <= registry.roles
    with pytest.raises(DefinitionError, match="unknown case type"):
        load_registry({"nope": {"x": 1}})
    with pytest.raises(DefinitionError, match="invoice.*colour"):
        load_registry({"invoice": {"colour": "red"}})
    with pytest.raises(DefinitionError, match="memo"):
        load_registry(extra={"memo": replace(_cosign_type(), start="nowhere")})


def test_required_fields_and_comments() -> None:
    ct = load_registry().get("invoice")
    assert ct is not None
    case = engine.CaseState(1, "x", "20", {"invoice_number": "1"})
    tasks = _tasks(engine.start(ct, replace(case, metadata={"ordering_unit": "32"}), NOW), 1)
    with pytest.raises(engine.WorkflowRefused, match="fill in issue_date"):
        engine.decide(ct, case, tasks, 1, Actor(1, frozenset()), "forward", "", {}, NOW)
    with pytest.raises(engine.WorkflowRefused, match="comment"):
        engine.decide(ct, case, tasks, 1, Actor(1, frozenset()), "reject", " ", {}, NOW)
