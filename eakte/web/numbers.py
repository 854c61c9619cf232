"""Numbers as people in German offices type them ("1.234,56") → the canonical form the field schema reads
("1234.56"). Anything that does not look like such a number is passed on unchanged, so the schema's own
validation names the field."""
from __future__ import annotations

import re

_GERMAN = re.compile(r"^[+-]?\d{1,3}(\.\d{3})*(,\d+)?$|^[+-]?\d+(,\d+)?$")
_THOUSANDS_ONLY = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+$")


def canonical_number(raw: str) -> str:
    text = re.sub(r"[\s\u00a0\u202f]|€|EUR", "", raw or "")
    if _GERMAN.match(text) or _THOUSANDS_ONLY.match(text):
        return text.replace(".", "").replace(",", ".")
    return raw.strip() if raw else ""
