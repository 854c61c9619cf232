"""The words a case type brings along (its label, its fields' and steps' labels) in the page's language."""
from __future__ import annotations

from flask_babel import get_locale

from workflows.definition import CaseType


def current_label(label_de: str, label_en: str) -> str:
    return label_de if str(get_locale() or "de") == "de" or not label_en else label_en


def type_label(case_type: CaseType | None, key: str) -> str:
    return current_label(case_type.label_de, case_type.label_en) if case_type else key


def step_label(case_type: CaseType | None, key: str | None) -> str:
    """A step's label; the bare key when the type no longer knows the step (an old instance)."""
    if not key:
        return ""
    step = next((s for s in case_type.steps if s.key == key), None) if case_type else None
    return current_label(step.label_de, step.label_en) if step else key


def decision_label(case_type: CaseType | None, step_key: str | None, decision_key: str | None) -> str:
    if not decision_key:
        return ""
    step = next((s for s in case_type.steps if s.key == step_key), None) if case_type else None
    decision = step.decision(decision_key) if step else None
    return current_label(decision.label_de, decision.label_en) if decision else decision_key
