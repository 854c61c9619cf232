"""Which permits an activity needs (GewO §§30–34i): a configurable table of rules matching the activity text by
keywords or the WZ 2008 key by prefix. The Prüfung names what is needed and not declared, so the clerk can ask
for it (the case goes on hold with a follow-up)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

DEFAULT_PERMIT_RULES: list[dict[str, Any]] = [
    {"permit": "34c", "label_de": "Erlaubnis nach § 34c GewO (Makler, Darlehensvermittler, Bauträger, Baubetreuer)",
     "keywords": ["immobilienmakler", "grundstücksmakler", "wohnungsmakler", "immobilienvermittlung", "bauträger",
                  "baubetreu", "darlehensvermittl", "wohnimmobilienverwalt"], "activity_keys": ["68.31", "41.10"]},
    {"permit": "34d", "label_de": "Erlaubnis nach § 34d GewO (Versicherungsvermittler, Versicherungsberater)",
     "keywords": ["versicherungsvermittl", "versicherungsmakler", "versicherungsvertret", "versicherungsberat"],
     "activity_keys": ["66.22"]},
    {"permit": "34f", "label_de": "Erlaubnis nach § 34f GewO (Finanzanlagenvermittler)",
     "keywords": ["finanzanlagenvermittl", "anlageberat", "investmentvermittl"], "activity_keys": ["66.19"]},
    {"permit": "34i", "label_de": "Erlaubnis nach § 34i GewO (Immobiliardarlehensvermittler)",
     "keywords": ["immobiliardarlehen", "baufinanzierungsvermittl"], "activity_keys": []},
    {"permit": "34a", "label_de": "Erlaubnis nach § 34a GewO (Bewachungsgewerbe)",
     "keywords": ["bewachung", "sicherheitsdienst", "objektschutz", "türsteher"], "activity_keys": ["80.10"]},
    {"permit": "34b", "label_de": "Erlaubnis nach § 34b GewO (Versteigerer)",
     "keywords": ["versteiger", "auktion"], "activity_keys": []},
    {"permit": "33c", "label_de": "Erlaubnis nach § 33c GewO (Aufstellen von Spielgeräten)",
     "keywords": ["spielgerät", "geldspielgerät"], "activity_keys": []},
    {"permit": "33i", "label_de": "Erlaubnis nach § 33i GewO (Spielhalle)",
     "keywords": ["spielhalle"], "activity_keys": ["92.00"]},
    {"permit": "30", "label_de": "Konzession nach § 30 GewO (Privatkrankenanstalt)",
     "keywords": ["privatklinik", "privatkrankenanstalt", "entbindungsanstalt"], "activity_keys": []},
]


@dataclass(frozen=True)
class PermitNeed:
    permit: str
    label_de: str


def checked_permit_rules(raw: Any) -> list[dict[str, Any]]:
    """The table validated (ValueError naming the entry and key), keywords lower-cased."""
    if not isinstance(raw, list):
        raise ValueError("permits: expected a list of tables")
    out = []
    for i, rule in enumerate(raw):
        where = f"permits[{i}]"
        if not isinstance(rule, Mapping):
            raise ValueError(f"{where}: expected a table")
        unknown = sorted(set(rule) - {"permit", "label_de", "keywords", "activity_keys"})
        if unknown:
            raise ValueError(f"{where}: unknown key {unknown[0]!r}")
        for key in ("permit", "label_de"):
            if not isinstance(rule.get(key), str) or not rule[key].strip():
                raise ValueError(f"{where}.{key}: expected text")
        lists = {}
        for key in ("keywords", "activity_keys"):
            value = rule.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise ValueError(f"{where}.{key}: expected a list of texts")
            lists[key] = [v.strip().lower() for v in value]
        out.append({"permit": rule["permit"].strip().lower(), "label_de": rule["label_de"].strip(), **lists})
    return out


def required_permits(rules: list[Mapping[str, Any]], activity: str | None,
                     activity_key: str | None) -> list[PermitNeed]:
    """The permits the rules ask for the activity (by a keyword in its text or its WZ key's prefix)."""
    text = (activity or "").lower()
    key = (activity_key or "").strip()
    out: dict[str, PermitNeed] = {}
    for rule in rules:
        by_word = any(word in text for word in rule.get("keywords", ()))
        by_key = bool(key) and any(key.startswith(prefix) for prefix in rule.get("activity_keys", ()))
        if by_word or by_key:
            out.setdefault(rule["permit"], PermitNeed(rule["permit"], rule["label_de"]))
    return list(out.values())


def missing_permits(rules: list[Mapping[str, Any]], data: Any) -> list[PermitNeed]:
    """Needed and not declared: `data` is a notification or an entry (a mapping or an object with the fields)."""
    def get(name: str) -> Any:
        return data.get(name) if isinstance(data, Mapping) else getattr(data, name, None)
    declared = {str(p).lower() for p in get("permits") or ()}
    return [need for need in required_permits(rules, get("activity"), get("activity_key"))
            if need.permit not in declared]
