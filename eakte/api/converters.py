"""URL converters of the API: path ids are database keys, so only values a key can hold match a route."""
from __future__ import annotations

from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter, Map, ValidationError

MAX_ID = 2**63 - 1  # ids are BIGINT on PostgreSQL and INTEGER (64-bit) on SQLite


class RowIdConverter(IntegerConverter):
    """`<int:...>` bounded to 1..2^63-1: a larger number names no row, and passing it on would overflow the
    database driver (a 500). Out of range it answers 404, like any id that names nothing."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        try:
            return int(super().to_python(value))
        except ValidationError:
            # Not Werkzeug's ValidationError: on a path served by several methods (GET and PATCH /cases/<id>)
            # that turns into 405 "method not allowed", which is wrong; the id simply names nothing.
            raise NotFound("no object has this id") from None


def register_converters(url_map: Map) -> None:
    """Replace Werkzeug's unbounded `int` for every route (call before any blueprint is registered)."""
    url_map.converters["int"] = RowIdConverter
