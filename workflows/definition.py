"""What a case type declares: fields, document kinds, steps with their decisions, guards, due dates, escalation
and hooks. Definitions are plain frozen data, validated once when loaded."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Literal, Mapping, Protocol

from workflows.fields import Field

CORE_ROLES = frozenset({"clerk", "approver", "auditor", "admin"})
DecisionKind = Literal["approve", "reject", "return"]


class DefinitionError(Exception):
    """A case type that cannot work; the server refuses to start and names the problem."""


@dataclass(frozen=True)
class Actor:
    """Who decides, as the engine sees it: an id and the (unit code, role) pairs they hold."""

    user_id: int
    roles: frozenset[tuple[str, str]]

    def has_role(self, role: str, unit: str | None = None) -> bool:
        return any(r == role and (unit is None or u == unit) for u, r in self.roles)


@dataclass(frozen=True)
class GuardContext:
    actor: Actor
    metadata: Mapping[str, Any]
    deciders: Mapping[str, frozenset[int]]  # step key → users who decided a task of that step


class Guard(Protocol):
    def refusal(self, ctx: GuardContext) -> tuple[str, str] | None:
        """None when the actor may decide; else (English, German) reason."""


@dataclass(frozen=True)
class NotSameAs:
    """Four-eyes: nobody who decided one of `steps` may decide here."""

    steps: tuple[str, ...]

    def refusal(self, ctx: GuardContext) -> tuple[str, str] | None:
        for step in self.steps:
            if ctx.actor.user_id in ctx.deciders.get(step, frozenset()):
                return (f"four-eyes principle: you already decided step {step!r} of this case",
                        f"Vier-Augen-Prinzip: Sie haben bereits den Schritt {step!r} dieser Akte entschieden")
        return None


@dataclass(frozen=True)
class ValueTiers:
    """Amounts above a threshold need a stronger role: ((threshold, role), …), the highest matching tier wins."""

    field: str
    tiers: tuple[tuple[Decimal, str], ...]

    def required_role(self, metadata: Mapping[str, Any]) -> str | None:
        raw = metadata.get(self.field)
        if raw in (None, ""):
            return None
        amount = Decimal(str(raw))
        needed = None
        for threshold, role in sorted(self.tiers):
            if amount > threshold:
                needed = role
        return needed

    def refusal(self, ctx: GuardContext) -> tuple[str, str] | None:
        role = self.required_role(ctx.metadata)
        if role is not None and not ctx.actor.has_role(role):
            amount = ctx.metadata.get(self.field)
            return (f"an amount of {amount} needs the role {role!r}",
                    f"Ein Betrag von {amount} erfordert die Rolle {role!r}")
        return None


DueRule = Callable[[Mapping[str, Any], dt.datetime], dt.datetime]


@dataclass(frozen=True)
class DueInDays:
    days: int

    def __call__(self, metadata: Mapping[str, Any], now: dt.datetime) -> dt.datetime:
        return now + dt.timedelta(days=self.days)


@dataclass(frozen=True)
class HookContext:
    case_id: int
    case_reference: str
    step: str
    metadata: Mapping[str, Any]


Hook = Callable[[HookContext], None]


@dataclass(frozen=True)
class Decision:
    key: str
    label_de: str
    label_en: str
    target: str | None  # the next step; None ends the workflow
    kind: DecisionKind = "approve"

    @property
    def needs_comment(self) -> bool:
        return self.kind != "approve"  # rejections and returns need a reason

    @property
    def outcome(self) -> str:
        """How the workflow ends when target is None."""
        return "rejected" if self.kind == "reject" else "completed"


@dataclass(frozen=True)
class Step:
    """One stop of the routing (Geschäftsgang).

    `units` are unit specs: "$responsible" (the case's unit), "$field:NAME" (a unit code held in the metadata),
    or a literal unit code. Several units make a parallel step (co-signing): it continues when all have approved;
    a rejection or return by one acts at once.
    """

    key: str
    label_de: str
    label_en: str
    role: str
    units: tuple[str, ...] = ("$responsible",)
    decisions: tuple[Decision, ...] = ()
    guards: tuple[Guard, ...] = ()
    due: DueRule | None = None
    escalate_to: tuple[str, str] | None = None  # (unit spec, role) that takes over overdue tasks
    on_enter: tuple[Hook, ...] = ()
    required_fields: tuple[str, ...] = ()  # must be filled before an approving decision
    instruction: Literal["act", "cosign", "acknowledge"] = "act"

    def decision(self, key: str) -> Decision | None:
        return next((d for d in self.decisions if d.key == key), None)


@dataclass(frozen=True)
class DocumentKind:
    key: str
    label_de: str
    label_en: str


@dataclass(frozen=True)
class CaseType:
    key: str
    label_de: str
    label_en: str
    fields: tuple[Field, ...] = ()
    document_kinds: tuple[DocumentKind, ...] = ()
    steps: tuple[Step, ...] = ()
    start: str | None = None  # first step; None: cases of this type have no workflow
    open_schema: bool = False  # accept metadata keys beyond the declared fields
    extra_roles: tuple[str, ...] = ()  # roles this type introduces (e.g. for value tiers)
    restricted: bool = False  # only the responsible unit (and admins) see it; auditors need a reason
    settings: Mapping[str, Any] = field(default_factory=dict)
    # Metadata computed from metadata after every change (e.g. the invoice checks); wins over typed values.
    derive: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None

    def normalise_metadata(self, metadata: Mapping[str, Any]) -> dict[str, Any]:
        """Validated and normalised metadata plus what `derive` computes; raises FieldError naming a field."""
        from workflows.fields import validate_metadata
        clean = validate_metadata(self.fields, metadata, open_schema=self.open_schema)
        if self.derive:
            clean.update(self.derive(clean))
        return clean

    def step(self, key: str) -> Step:
        for s in self.steps:
            if s.key == key:
                return s
        raise KeyError(key)

    @property
    def roles(self) -> frozenset[str]:
        return CORE_ROLES | frozenset(self.extra_roles)

    def validate(self, known_roles: frozenset[str] | None = None) -> None:
        """Refuse a definition that cannot work: unknown or unreachable steps, unknown roles or fields."""
        roles = (known_roles or frozenset()) | self.roles
        keys = [s.key for s in self.steps]
        where = f"case type {self.key!r}"
        if len(set(keys)) != len(keys):
            raise DefinitionError(f"{where}: duplicate step keys")
        if len({f.name for f in self.fields}) != len(self.fields):
            raise DefinitionError(f"{where}: duplicate field names")
        if self.start is None:
            if self.steps:
                raise DefinitionError(f"{where}: has steps but no start step")
            return
        if self.start not in keys:
            raise DefinitionError(f"{where}: start step {self.start!r} is not defined")
        fields = {f.name for f in self.fields}
        for step in self.steps:
            if step.role not in roles:
                raise DefinitionError(f"{where}, step {step.key!r}: unknown role {step.role!r}")
            if not step.decisions:
                raise DefinitionError(f"{where}, step {step.key!r}: offers no decision")
            for decision in step.decisions:
                if decision.target is not None and decision.target not in keys:
                    raise DefinitionError(f"{where}, step {step.key!r}, decision {decision.key!r}: "
                                          f"unknown step {decision.target!r}")
            for spec in step.units + ((step.escalate_to[0],) if step.escalate_to else ()):
                if spec.startswith("$field:") and spec[7:] not in fields:
                    raise DefinitionError(f"{where}, step {step.key!r}: unit field {spec[7:]!r} is not declared")
            if step.escalate_to and step.escalate_to[1] not in roles:
                raise DefinitionError(f"{where}, step {step.key!r}: unknown escalation role {step.escalate_to[1]!r}")
            for name in step.required_fields:
                if name not in fields:
                    raise DefinitionError(f"{where}, step {step.key!r}: required field {name!r} is not declared")
            for guard in step.guards:
                if isinstance(guard, NotSameAs):
                    for other in guard.steps:
                        if other not in keys:
                            raise DefinitionError(f"{where}, step {step.key!r}: four-eyes guard names unknown "
                                                  f"step {other!r}")
                if isinstance(guard, ValueTiers):
                    for _, role in guard.tiers:
                        if role not in roles:
                            raise DefinitionError(f"{where}, step {step.key!r}: value tier needs unknown role "
                                                  f"{role!r}")
        reachable, todo = set(), [self.start]
        while todo:
            key = todo.pop()
            if key in reachable:
                continue
            reachable.add(key)
            todo.extend(d.target for d in self.step(key).decisions if d.target)
        unreachable = [k for k in keys if k not in reachable]
        if unreachable:
            raise DefinitionError(f"{where}: unreachable step(s) {', '.join(unreachable)}")

    def describe(self) -> dict[str, Any]:
        """What a client needs to build its forms."""
        return {
            "key": self.key, "label_de": self.label_de, "label_en": self.label_en,
            "fields": [f.describe() for f in self.fields],
            "document_kinds": [{"key": k.key, "label_de": k.label_de, "label_en": k.label_en}
                               for k in self.document_kinds],
            "start": self.start,
            "steps": [{"key": s.key, "label_de": s.label_de, "label_en": s.label_en, "role": s.role,
                       "units": list(s.units), "instruction": s.instruction,
                       "required_fields": list(s.required_fields),
                       "decisions": [{"key": d.key, "label_de": d.label_de, "label_en": d.label_en,
                                      "target": d.target, "kind": d.kind, "needs_comment": d.needs_comment}
                                     for d in s.decisions]}
                      for s in self.steps],
        }
