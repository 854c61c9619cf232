"""What a case type declares: fields, document kinds, steps with their decisions, guards, due dates, escalation
and hooks. Definitions are plain frozen data, validated once when loaded."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from string import Formatter
from typing import Any, Callable, Literal, Mapping, NamedTuple, Protocol

from workflows.fields import Field, submitted_changes

CORE_ROLES = frozenset({"clerk", "approver", "auditor", "admin"})
DecisionKind = Literal["approve", "reject", "return"]


class DefinitionError(Exception):
    """A case type that cannot work; the server refuses to start and names the problem."""


@dataclass(frozen=True)
class Actor:
    """Who decides, as the engine sees it: an id and the (unit code, role) pairs they hold."""

    user_id: int
    roles: frozenset[tuple[str, str]]
    # Absent colleagues this actor stands in for on this task (Vertretung): the deputy may do only what they
    # could, so four-eyes counts their earlier decisions too.
    on_behalf_of: frozenset[int] = frozenset()

    def has_role(self, role: str, unit: str | None = None) -> bool:
        return any(r == role and (unit is None or u == unit) for u, r in self.roles)

    @property
    def identities(self) -> frozenset[int]:
        return self.on_behalf_of | {self.user_id}


@dataclass(frozen=True)
class GuardContext:
    actor: Actor
    metadata: Mapping[str, Any]
    deciders: Mapping[str, frozenset[int]]  # step key → users who decided a task of that step
    unit: str  # code of the unit whose task is being decided: roles a guard demands must be held there


class Guard(Protocol):
    def refusal(self, ctx: GuardContext) -> tuple[str, str] | None:
        """None when the actor may decide; else (English, German) reason."""


@dataclass(frozen=True)
class NotSameAs:
    """Four-eyes: nobody who decided one of `steps` may decide here."""

    steps: tuple[str, ...]

    def refusal(self, ctx: GuardContext) -> tuple[str, str] | None:
        for step in self.steps:
            if ctx.actor.identities & ctx.deciders.get(step, frozenset()):
                return (f"four-eyes principle: you already decided step {step!r} of this case",
                        f"Vier-Augen-Prinzip: Sie haben bereits den Schritt {step!r} dieser Akte entschieden")
        return None


class Tier(NamedTuple):
    """Amounts above `above` need `role`, held in `unit` (a unit code) or, without one, in the unit whose task
    is decided: a head of unit signs for their own unit only, the mayor in the mayor's office."""

    above: Decimal
    role: str
    unit: str | None = None


@dataclass(frozen=True)
class ValueTiers:
    """Amounts above a threshold need a stronger role: (Tier(threshold, role[, unit]), …), the highest matching
    tier wins. Plain (threshold, role) pairs are accepted and become tiers of the step's unit."""

    field: str
    tiers: tuple[Tier, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "tiers", tuple(Tier(*t) for t in self.tiers))

    def required_tier(self, metadata: Mapping[str, Any]) -> Tier | None:
        raw = metadata.get(self.field)
        if raw in (None, ""):
            return None
        amount = Decimal(str(raw))
        needed = None
        for tier in sorted(self.tiers, key=lambda t: t.above):
            if amount > tier.above:
                needed = tier
        return needed

    def refusal(self, ctx: GuardContext) -> tuple[str, str] | None:
        tier = self.required_tier(ctx.metadata)
        if tier is None:
            return None
        unit = tier.unit or ctx.unit
        if not ctx.actor.has_role(tier.role, unit):
            amount = ctx.metadata.get(self.field)
            return (f"an amount of {amount} needs the role {tier.role!r} in unit {unit}",
                    f"Ein Betrag von {amount} erfordert die Rolle {tier.role!r} in der Organisationseinheit {unit}")
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
class ReadOnlyWhen:
    """`fields` are read-only while `applies(metadata)` holds: e.g. what was read from an e-invoice's XML is the
    supplier's statement, while the same fields of an invoice typed from paper are the clerk's to fill in."""

    fields: tuple[str, ...]
    applies: Callable[[Mapping[str, Any]], bool]
    reason: str  # completes "field X is …", e.g. "read from the e-invoice"
    reason_de: str  # completes "Feld X ist …", e.g. "aus der E-Rechnung gelesen"


@dataclass(frozen=True)
class FieldLock:
    """Why a field may not be changed now: computed by the system ("read_only"), or fixed because a step that
    relies on it has been decided ("frozen", naming the step)."""

    field: str
    kind: Literal["read_only", "frozen"]
    step: str | None
    message: str
    message_de: str


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
    # Fields whose values an approving decision records as what it approved (the payment export pays those).
    records: tuple[str, ...] = ()
    instruction: Literal["act", "cosign", "acknowledge"] = "act"

    def decision(self, key: str) -> Decision | None:
        return next((d for d in self.decisions if d.key == key), None)


@dataclass(frozen=True)
class DocumentKind:
    key: str
    label_de: str
    label_en: str
    # A step key: once that step has been decided (approved), documents of this kind get no new version, as
    # `CaseType.frozen_after` fixes fields: what the step confirmed (e.g. the invoice itself) must not be replaced
    # behind it. Returning the case to that step or an earlier one voids the decision and lifts the lock.
    frozen_after: str | None = None
    # Filed only through the case type's own flow (e.g. a personnel file's warning, which must pass the hearing
    # first): a plain upload of this kind is refused, and its audit events name no title or file name, so that a
    # later removal (`DocumentDestruction`) leaves a record that something was removed, never what.
    managed: bool = False


@dataclass(frozen=True)
class Restriction:
    """Who sees a restricted case type's cases (`CaseType.restricted`), and how the others may be let in.

    Only members of the case's unit holding one of `reader_roles` (any role when empty) see a case, never through
    a workflow, a deputyship or an auditor's or admin's general view; members of a sub-file's `unit` see the case
    and that sub-file only. Auditors, and admins where `admins_need_reason`, ask for recorded-reason access to one
    case; `grant_role` held in the case's unit grants it for `grant_hours`, or, with `grant_immediately`, it is
    granted at once and flagged. With `log_reads`, every read of such a case is an audit event."""

    reader_roles: tuple[str, ...] = ()
    admins_need_reason: bool = False
    grant_hours: int | None = None  # None: no recorded-reason access
    grant_role: str = "head_of_unit"
    grant_immediately: bool = False
    log_reads: bool = False


@dataclass(frozen=True)
class SubFile:
    """A named sub-file (Teilakte) a case type declares, e.g. a personnel file's Urlaub or Beihilfe. Each case of
    the type gets it when created; its documents may be kept apart (`unit`) and kept longer or shorter."""

    key: str
    label_de: str
    label_en: str
    # A unit code: when set, only members of that unit see the sub-file and its documents (not the case's own
    # unit), e.g. Beihilfe handled by a separate unit.
    unit: str | None = None
    # The minimum role (in the unit that sees it) to see it; None: any member.
    min_role: str | None = None
    # Years to keep its documents after closing; None: the file plan node's period.
    retention_years: int | None = None


@dataclass(frozen=True)
class FieldGroup:
    """Fields shown together under one heading (a form's fieldset, the case page's section), e.g. Person."""

    label_de: str
    label_en: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class CaseType:
    key: str
    label_de: str
    label_en: str
    fields: tuple[Field, ...] = ()
    document_kinds: tuple[DocumentKind, ...] = ()
    # Declared sub-files: cases of this type hold these instead of free procedures.
    subfiles: tuple[SubFile, ...] = ()
    steps: tuple[Step, ...] = ()
    start: str | None = None  # first step; None: cases of this type have no workflow
    open_schema: bool = False  # accept metadata keys beyond the declared fields
    extra_roles: tuple[str, ...] = ()  # roles this type introduces (e.g. for value tiers)
    restricted: bool = False  # only the responsible unit sees it (`restriction` says who exactly)
    restriction: Restriction = Restriction()
    # A field holding the username of the person the file is about (a personnel file's employee): they may
    # inspect their own file read-only. The services resolve it to `Case.subject_user_id`.
    subject_field: str | None = None
    # Fields whose value identifies at most one case of this type (a personnel number): kept in `CaseKey`.
    unique_fields: tuple[str, ...] = ()
    # The title of a case created without one, from its fields, e.g. "Personalakte {name} ({personnel_number})".
    title_template: str | None = None
    # The code of the only unit that keeps cases of this type (a personnel file: the personnel office).
    home_unit: str | None = None
    # A date field that ends the case: once its date has come, the case is closed (z.d.A.) as of that date, e.g.
    # a personnel file on the leaving date; its retention periods run from then.
    closes_on_field: str | None = None
    field_groups: tuple[FieldGroup, ...] = ()  # how forms and the case page group the fields; () : one group
    settings: Mapping[str, Any] = field(default_factory=dict)
    # Metadata computed from metadata after every change (e.g. the invoice checks); wins over typed values.
    derive: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None
    # Step key → fields fixed once that step has been decided (approved): what the step confirmed must not change
    # behind it. Returning the case to that step or an earlier one voids the decision and unfreezes them.
    frozen_after: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    read_only_when: tuple[ReadOnlyWhen, ...] = ()
    # (setting, unit code) pairs the settings name beyond the steps' literal units (e.g. routing targets), so an
    # installation can be told at start-up which of them name no existing unit.
    unit_settings: tuple[tuple[str, str], ...] = ()
    # "case": one workflow per case, started when the case is created. "procedure": one per procedure (e.g. a
    # trade notification in the business's case), started by the case type's own intake; the engine then reads
    # the procedure's metadata over the case's.
    workflow_scope: Literal["case", "procedure"] = "case"
    # Cases of this type come only from the type's own intake (a business from its Anmeldung): the generic
    # "new case" path refuses them.
    created_by_intake: bool = False
    # Its workflow alone closes its cases (a business by the Eintragung of its Abmeldung): the generic close
    # (z.d.A. by hand) is refused, else the case could be closed while its entry still says "active".
    closed_by_workflow: bool = False

    def normalise_metadata(self, metadata: Mapping[str, Any]) -> dict[str, Any]:
        """Validated and normalised metadata plus what `derive` computes; raises FieldError naming a field."""
        from workflows.fields import validate_metadata
        clean = validate_metadata(self.fields, metadata, open_schema=self.open_schema)
        if self.derive:
            clean.update(self.derive(clean))
        return clean

    def lock(self, name: str, metadata: Mapping[str, Any], decided: frozenset[str]) -> FieldLock | None:
        """Why field `name` may not change now (None: it may). `decided`: the steps with a valid approval."""
        for step in self.steps:  # in the declared order, so the earliest step that froze the field is named
            if step.key in decided and name in self.frozen_after.get(step.key, ()):
                return FieldLock(name, "frozen", step.key,
                                 f"field {name!r} is fixed since step {step.key!r} was decided; to correct it, "
                                 f"return the case to step {step.key!r} or an earlier one",
                                 f"Feld {name!r} ist seit der Entscheidung im Schritt {step.key!r} festgeschrieben; "
                                 f"zur Korrektur die Akte an diesen oder einen früheren Schritt zurückgeben")
        declared = next((f for f in self.fields if f.name == name), None)
        if declared is not None and declared.read_only:
            return FieldLock(name, "read_only", None, f"field {name!r} is computed by the system and cannot be set",
                             f"Feld {name!r} wird vom System berechnet und kann nicht gesetzt werden")
        for rule in self.read_only_when:
            if name in rule.fields and rule.applies(metadata):
                return FieldLock(name, "read_only", None, f"field {name!r} is {rule.reason} and cannot be changed",
                                 f"Feld {name!r} ist {rule.reason_de} und kann nicht geändert werden")
        return None

    def document_lock(self, kind: str, decided: frozenset[str]) -> str | None:
        """The decided step that fixed documents of `kind` (no new version may be added), or None."""
        declared = next((k for k in self.document_kinds if k.key == kind), None)
        if declared is not None and declared.frozen_after is not None and declared.frozen_after in decided:
            return declared.frozen_after
        return None

    def refused_change(self, old: Mapping[str, Any], submitted: Mapping[str, Any],
                       decided: frozenset[str] = frozenset()) -> FieldLock | None:
        """The first lock among the fields `submitted` (a merge patch onto `old`) really changes, or None.
        Raises FieldError for a value that does not validate."""
        merged = {**old, **{k: v for k, v in submitted.items() if v is not None}}
        for name in submitted_changes(self.fields, old, submitted, open_schema=self.open_schema):
            lock = self.lock(name, merged, decided)
            if lock is not None:
                return lock
        return None

    def approval_record(self, step_key: str, decision_key: str, metadata: Mapping[str, Any]) -> dict[str, Any] | None:
        """What an approving decision of the step approved (its `records` fields), None for other decisions."""
        step = self.step(step_key)
        decision = step.decision(decision_key)
        if not step.records or decision is None or decision.kind != "approve":
            return None
        return {name: metadata.get(name) for name in step.records}

    def unit_references(self) -> list[tuple[str, str]]:
        """(where, unit code) for every unit the definition names literally: its unit settings, then the steps'."""
        refs = list(self.unit_settings)
        named = {code for _, code in refs}
        for step in self.steps:
            for spec in step.units + ((step.escalate_to[0],) if step.escalate_to else ()):
                if not spec.startswith("$") and spec not in named:
                    refs.append((f"step {step.key}", spec))
                    named.add(spec)
        return refs

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
        declared = {f.name for f in self.fields}
        for rule in self.read_only_when:
            for name in rule.fields:
                if name not in declared:
                    raise DefinitionError(f"{where}: read-only field {name!r} is not declared")
        for kind in self.document_kinds:
            if kind.frozen_after is not None and kind.frozen_after not in keys:
                raise DefinitionError(f"{where}: document kind {kind.key!r} frozen after unknown step "
                                      f"{kind.frozen_after!r}")
        for name in self.unique_fields + ((self.subject_field,) if self.subject_field else ()):
            if name not in declared:
                raise DefinitionError(f"{where}: field {name!r} (unique or subject field) is not declared")
        self._validate_case_rules(where, {f.name: f for f in self.fields})
        for role in self.restriction.reader_roles + (self.restriction.grant_role,):
            if self.restricted and role not in roles:
                raise DefinitionError(f"{where}: restriction names unknown role {role!r}")
        if len({f.key for f in self.subfiles}) != len(self.subfiles):
            raise DefinitionError(f"{where}: duplicate sub-file keys")
        for sub in self.subfiles:
            # The access rule (eakte.services.access.hidden_subfiles) applies min_role only inside `unit`: without
            # one it would be silently ignored and the sub-file open to every member of the case's unit.
            if sub.min_role is not None and sub.unit is None:
                raise DefinitionError(f"{where}: sub-file {sub.key!r} has a min_role but no unit it applies in")
            if sub.min_role is not None and sub.min_role not in roles:
                raise DefinitionError(f"{where}: sub-file {sub.key!r}: unknown role {sub.min_role!r}")
        for key, names in self.frozen_after.items():
            if key not in keys:
                raise DefinitionError(f"{where}: fields frozen after unknown step {key!r}")
            for name in names:
                if name not in declared:
                    raise DefinitionError(f"{where}: field {name!r} frozen after step {key!r} is not declared")
        if self.start is None:
            if self.steps:
                raise DefinitionError(f"{where}: has steps but no start step")
            if self.closed_by_workflow:
                raise DefinitionError(f"{where}: closed_by_workflow without a workflow: its cases could never close")
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
            for name in step.required_fields + step.records:
                if name not in fields:
                    raise DefinitionError(f"{where}, step {step.key!r}: field {name!r} is not declared")
            for guard in step.guards:
                if isinstance(guard, NotSameAs):
                    for other in guard.steps:
                        if other not in keys:
                            raise DefinitionError(f"{where}, step {step.key!r}: four-eyes guard names unknown "
                                                  f"step {other!r}")
                if isinstance(guard, ValueTiers):
                    for tier in guard.tiers:
                        if tier.role not in roles:
                            raise DefinitionError(f"{where}, step {step.key!r}: value tier needs unknown role "
                                                  f"{tier.role!r}")
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

    def title_fields(self) -> tuple[str, ...]:
        """The fields `title_template` names, in their order."""
        if self.title_template is None:
            return ()
        return tuple(name for _, name, _, _ in Formatter().parse(self.title_template) if name is not None)

    def derived_title(self, metadata: Mapping[str, Any]) -> str | None:
        """The title `title_template` gives for `metadata`; None without a template or while a field it names
        is empty."""
        if self.title_template is None or any(metadata.get(n) in (None, "") for n in self.title_fields()):
            return None
        return self.title_template.format_map({n: metadata[n] for n in self.title_fields()})

    def _validate_case_rules(self, where: str, declared: Mapping[str, Field]) -> None:
        if self.title_template is not None:
            try:
                parts = list(Formatter().parse(self.title_template))
            except ValueError as exc:
                raise DefinitionError(f"{where}: title template: {exc}") from None
            for _, name, spec, conversion in parts:
                if name is None:
                    continue
                if name not in declared or spec or conversion:
                    raise DefinitionError(f"{where}: title template names {name!r}, which is not a declared "
                                          "field (plain {field} placeholders only)")
        if self.closes_on_field is not None:
            closing = declared.get(self.closes_on_field)
            if closing is None or closing.kind != "date":
                raise DefinitionError(f"{where}: closes_on_field {self.closes_on_field!r} is not a declared date "
                                      "field")
        grouped = [name for group in self.field_groups for name in group.fields]
        for name in grouped:
            if name not in declared:
                raise DefinitionError(f"{where}: field group names undeclared field {name!r}")
        if len(set(grouped)) != len(grouped):
            raise DefinitionError(f"{where}: a field is in more than one field group")

    def describe(self) -> dict[str, Any]:
        """What a client needs to build its forms."""
        return {
            "key": self.key, "label_de": self.label_de, "label_en": self.label_en,
            "fields": [f.describe() for f in self.fields],
            "document_kinds": [{"key": k.key, "label_de": k.label_de, "label_en": k.label_en,
                                "frozen_after": k.frozen_after, "managed": k.managed} for k in self.document_kinds],
            "restricted": self.restricted,
            "unique_fields": list(self.unique_fields),
            "title_template": self.title_template, "home_unit": self.home_unit,
            "closes_on_field": self.closes_on_field,
            "field_groups": [{"label_de": g.label_de, "label_en": g.label_en, "fields": list(g.fields)}
                             for g in self.field_groups],
            "subfiles": [{"key": f.key, "label_de": f.label_de, "label_en": f.label_en, "unit": f.unit,
                          "min_role": f.min_role, "retention_years": f.retention_years} for f in self.subfiles],
            "start": self.start, "workflow_scope": self.workflow_scope, "created_by_intake": self.created_by_intake,
            "frozen_after": {k: list(v) for k, v in self.frozen_after.items()},
            "read_only_when": [{"fields": list(r.fields), "reason": r.reason, "reason_de": r.reason_de}
                               for r in self.read_only_when],
            "steps": [{"key": s.key, "label_de": s.label_de, "label_en": s.label_en, "role": s.role,
                       "units": list(s.units), "instruction": s.instruction,
                       "required_fields": list(s.required_fields),
                       "decisions": [{"key": d.key, "label_de": d.label_de, "label_en": d.label_en,
                                      "target": d.target, "kind": d.kind, "needs_comment": d.needs_comment}
                                     for d in s.decisions]}
                      for s in self.steps],
        }
