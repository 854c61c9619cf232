"""Metadata fields a case type declares, and their validation. Values are normalised to JSON-ready forms:
money as a string with two decimals, dates as ISO strings, so the database and the API see one spelling."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal, Mapping

from workflows.validators import iban_valid, leitweg_id_valid

FieldKind = Literal["text", "integer", "money", "decimal", "date", "enum", "iban", "leitweg_id", "boolean", "list",
                    "unit"]
CENT = Decimal("0.01")


class FieldError(ValueError):
    def __init__(self, field: str, message: str, message_de: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.message_de = message_de


@dataclass(frozen=True)
class Field:
    name: str
    label_de: str
    label_en: str
    kind: FieldKind = "text"
    required: bool = False  # needed before the workflow may leave its first step
    choices: tuple[str, ...] = ()
    max_length: int = 500
    help_de: str = ""
    # Computed by the system (check results, the received format): never written through an update.
    read_only: bool = False
    # Bounds of an integer, decimal or money field (inclusive; None: unbounded).
    minimum: Decimal | int | None = None
    maximum: Decimal | int | None = None

    def normalise(self, value: Any) -> Any:
        """The stored form of `value`; raises FieldError naming this field."""
        if value is None or value == "":
            return None
        try:
            normal = _NORMALISERS[self.kind](self, value)
        except FieldError:
            raise
        except (ValueError, TypeError, InvalidOperation):
            raise FieldError(self.name, f"expected {_EXPECTED[self.kind]}, got {value!r}",
                             f"erwartet: {_EXPECTED_DE[self.kind]}") from None
        self._check_bounds(normal)
        return normal

    def _check_bounds(self, normal: Any) -> None:
        if (self.minimum is None and self.maximum is None) or self.kind not in ("integer", "decimal", "money"):
            return
        number = Decimal(normal)
        if (self.minimum is not None and number < self.minimum) or \
                (self.maximum is not None and number > self.maximum):
            low = "" if self.minimum is None else str(self.minimum)
            high = "" if self.maximum is None else str(self.maximum)
            raise FieldError(self.name, f"must lie between {low or '-∞'} and {high or '∞'}",
                             f"erlaubt: {low or '…'} bis {high or '…'}")

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "label_de": self.label_de, "label_en": self.label_en,
                               "kind": self.kind, "required": self.required, "read_only": self.read_only}
        if self.choices:
            out["choices"] = list(self.choices)
        return out


def _text(f: Field, v: Any) -> str:
    if not isinstance(v, (str, int)) or isinstance(v, bool):
        raise ValueError
    s = str(v).strip()
    if len(s) > f.max_length:
        raise FieldError(f.name, f"at most {f.max_length} characters", f"höchstens {f.max_length} Zeichen")
    return s


def _integer(_f: Field, v: Any) -> int:
    if isinstance(v, bool) or (isinstance(v, str) and not re.fullmatch(r"-?\d+", v.strip())):
        raise ValueError
    if isinstance(v, float) and not v.is_integer():
        raise ValueError
    return int(v)


def _money(_f: Field, v: Any) -> str:
    if isinstance(v, (bool, float)):
        raise ValueError  # floats lose cents; money comes as a string or an exact number
    d = Decimal(str(v).strip())
    if not d.is_finite():
        raise ValueError
    return str(d.quantize(CENT, rounding=ROUND_HALF_UP))


def _decimal(_f: Field, v: Any) -> str:
    if isinstance(v, (bool, float)):
        raise ValueError
    d = Decimal(str(v).strip())
    if not d.is_finite():
        raise ValueError
    return str(d)


def _date(_f: Field, v: Any) -> str:
    if isinstance(v, dt.datetime):
        v = v.date()
    if isinstance(v, dt.date):
        return v.isoformat()
    return dt.date.fromisoformat(str(v).strip()).isoformat()


def _enum(f: Field, v: Any) -> str:
    if v not in f.choices:
        raise FieldError(f.name, f"expected one of {', '.join(f.choices)}", f"erlaubt: {', '.join(f.choices)}")
    return str(v)


def _iban(f: Field, v: Any) -> str:
    s = re.sub(r"\s+", "", str(v)).upper()
    if not iban_valid(s):
        raise FieldError(f.name, "not a valid IBAN (check digits)", "keine gültige IBAN (Prüfziffer)")
    return s


def _leitweg(f: Field, v: Any) -> str:
    s = str(v).strip()
    if not leitweg_id_valid(s):
        raise FieldError(f.name, "not a valid Leitweg-ID (check digits)", "keine gültige Leitweg-ID (Prüfziffer)")
    return s


def _boolean(_f: Field, v: Any) -> bool:
    if isinstance(v, bool):
        return v
    raise ValueError


def _list(_f: Field, v: Any) -> list[Any]:
    if not isinstance(v, list):
        raise ValueError
    return v


_NORMALISERS = {"text": _text, "integer": _integer, "money": _money, "decimal": _decimal, "date": _date,
                "enum": _enum, "iban": _iban, "leitweg_id": _leitweg, "boolean": _boolean, "list": _list,
                "unit": _text}
_EXPECTED = {"text": "text", "integer": "a whole number", "money": "an amount such as \"1234.50\"",
             "decimal": "a decimal number", "date": "a date YYYY-MM-DD", "enum": "one of the choices",
             "iban": "an IBAN", "leitweg_id": "a Leitweg-ID", "boolean": "true or false", "list": "a list",
             "unit": "a unit code"}
_EXPECTED_DE = {"text": "Text", "integer": "ganze Zahl", "money": "Betrag wie \"1234.50\"",
                "decimal": "Dezimalzahl", "date": "Datum JJJJ-MM-TT", "enum": "einer der erlaubten Werte",
                "iban": "IBAN", "leitweg_id": "Leitweg-ID", "boolean": "wahr oder falsch", "list": "Liste",
                "unit": "Kennung einer Organisationseinheit"}


def validate_metadata(fields: tuple[Field, ...], metadata: Mapping[str, Any], *,
                      open_schema: bool = False) -> dict[str, Any]:
    """Normalise every declared field; unknown keys are refused unless the type keeps an open schema."""
    by_name = {f.name: f for f in fields}
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        field = by_name.get(key)
        if field is None:
            if not open_schema:
                raise FieldError(key, "unknown field for this case type", "unbekanntes Feld für diesen Aktentyp")
            out[key] = value
            continue
        normalised = field.normalise(value)
        if normalised is not None:
            out[key] = normalised
    return out


def submitted_changes(fields: tuple[Field, ...], old: Mapping[str, Any], submitted: Mapping[str, Any], *,
                      open_schema: bool = False) -> list[str]:
    """The keys of `submitted` (a merge patch: None removes) whose normalised value differs from `old`: sending a
    field back unchanged, as a form does, is no change."""
    clean = validate_metadata(fields, {k: v for k, v in submitted.items() if v is not None}, open_schema=open_schema)
    return [key for key in submitted if clean.get(key) != old.get(key)]


def missing_required(fields: tuple[Field, ...], metadata: Mapping[str, Any],
                     names: tuple[str, ...] | None = None) -> list[str]:
    wanted = [f for f in fields if (f.name in names if names is not None else f.required)]
    return [f.name for f in wanted if metadata.get(f.name) in (None, "", [])]
