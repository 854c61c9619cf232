"""Free text a person types (titles, notes, follow-up hints): trimmed, required and bounded, with the message
naming the field."""
from __future__ import annotations

from eakte.errors import Invalid


def required_text(value: str | None, field: str, max_len: int, *, empty_de: str | None = None,
                  too_long_de: str | None = None) -> str:
    text = (value or "").strip()
    if not any(ch.isprintable() and not ch.isspace() for ch in text):  # blank, or only invisible characters
        raise Invalid(f"{field} must not be empty", field=field, detail_de=empty_de)
    if len(text) > max_len:
        raise Invalid(f"{field}: at most {max_len} characters", field=field, detail_de=too_long_de)
    return text


def required_title(title: str | None) -> str:
    """A case's, procedure's or Betreff-like title."""
    return required_text(title, "title", 500, empty_de="Betreff darf nicht leer sein",
                         too_long_de="Betreff: höchstens 500 Zeichen")
