"""Case types and their workflows: the plugin API. Case types register through the `eakte.case_types`
entry-point group; the engine is pure logic over plain state and knows nothing of Flask or the database."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Decision:
    key: str
    label_de: str
    label_en: str
    target_step: str | None  # None: the workflow ends
    needs_comment: bool = False


@dataclass(frozen=True)
class Step:
    key: str
    label_de: str
    label_en: str
    unit: str | None  # None: the case's responsible unit
    role: str
    decisions: tuple[Decision, ...] = ()


@dataclass(frozen=True)
class CaseType:
    key: str
    label_de: str
    label_en: str
    document_kinds: tuple[str, ...] = ()
    steps: tuple[Step, ...] = field(default_factory=tuple)
    first_step: str | None = None
