"""Case types and their workflows: the plugin API (`workflows.definition`, `workflows.fields`), the pure engine
(`workflows.engine`) and the registry reading the `eakte.case_types` entry points. Knows nothing of Flask or
the database."""
from workflows.definition import (CORE_ROLES, Actor, CaseType, Decision, DefinitionError, DocumentKind, DueInDays,
                                  FieldLock, GuardContext, HookContext, NotSameAs, ReadOnlyWhen, Step, Tier,
                                  ValueTiers)
from workflows.fields import Field, FieldError, iban_valid, leitweg_id_valid, validate_metadata
from workflows.registry import Registry, load_registry

__all__ = ["CORE_ROLES", "Actor", "CaseType", "Decision", "DefinitionError", "DocumentKind", "DueInDays", "Field",
           "FieldError", "FieldLock", "GuardContext", "HookContext", "NotSameAs", "ReadOnlyWhen", "Registry", "Step",
           "Tier", "ValueTiers", "iban_valid", "leitweg_id_valid", "load_registry", "validate_metadata"]
