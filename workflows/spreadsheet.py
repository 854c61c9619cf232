"""CSV that is safe to open in a spreadsheet: no cell runs as a formula (CSV injection, OWASP).

Every CSV the system writes goes through here (search results, export listings, payment lists). It lives in
workflows/ because both case types (which must not import eakte) and eakte write CSV; it needs only the
standard library.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, TextIO

# Excel, LibreOffice and Google Sheets start a formula (or a DDE call) with these.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A text starting like a formula gets a leading apostrophe, which spreadsheets show as plain text.
    Other values (numbers, None) are written as they are: a number is never run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class SafeCsvWriter:
    """csv.writer whose every text cell passes safe_cell (so no caller can forget a column)."""

    def __init__(self, out: TextIO, **fmtparams: Any) -> None:
        self._writer = csv.writer(out, **fmtparams)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
