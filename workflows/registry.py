"""Case types come from the `eakte.case_types` entry-point group: built-in ones use it too, so a third party
adds a type by installing a package, without touching eakte."""
from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable, Mapping

from workflows.definition import CORE_ROLES, CaseType, DefinitionError

GROUP = "eakte.case_types"
Factory = Callable[[Mapping[str, Any]], CaseType]


@dataclass(frozen=True)
class Registry:
    types: Mapping[str, CaseType]

    def get(self, key: str) -> CaseType | None:
        return self.types.get(key)

    @property
    def roles(self) -> frozenset[str]:
        return CORE_ROLES.union(*(t.extra_roles for t in self.types.values()))

    @property
    def restricted_types(self) -> frozenset[str]:
        return frozenset(k for k, t in self.types.items() if t.restricted)

    @property
    def restricted(self) -> Mapping[str, CaseType]:
        """The restricted case types by key: their `restriction` and sub-files decide who sees their cases."""
        return {k: t for k, t in self.types.items() if t.restricted}


def load_registry(settings: Mapping[str, Mapping[str, Any]] | None = None,
                  extra: Mapping[str, CaseType | Factory] | None = None) -> Registry:
    """Load, build with their settings (`[case_types.<key>]`) and validate every case type."""
    settings = settings or {}
    sources: dict[str, CaseType | Factory] = {}
    for ep in entry_points(group=GROUP):
        try:
            sources[ep.name] = ep.load()
        except Exception as exc:  # a broken plugin must name itself, not crash with a bare traceback
            raise DefinitionError(f"case type {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
    sources.update(extra or {})
    types: dict[str, CaseType] = {}
    for name, source in sources.items():
        try:
            case_type = source if isinstance(source, CaseType) else source(settings.get(name, {}))
        except DefinitionError:
            raise
        except Exception as exc:
            raise DefinitionError(f"case type {name!r}: cannot be built from its settings: {exc}") from exc
        if not isinstance(case_type, CaseType):
            raise DefinitionError(f"case type {name!r}: entry point gives {type(case_type).__name__}, "
                                  "not a CaseType")
        if case_type.key != name:
            raise DefinitionError(f"case type {name!r}: its definition calls itself {case_type.key!r}")
        types[name] = case_type
    unknown = set(settings) - set(types)
    if unknown:
        raise DefinitionError(f"case_types: settings for unknown case type(s) {', '.join(sorted(unknown))}")
    registry = Registry(types)
    for case_type in types.values():
        case_type.validate(registry.roles)
    return registry
