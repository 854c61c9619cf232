"""Paging of lists: page number from the query string, links that keep every other filter."""
from __future__ import annotations

from dataclasses import dataclass

from flask import request, url_for


@dataclass(frozen=True)
class Page:
    number: int
    size: int
    total: int
    previous_url: str | None
    next_url: str | None

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first(self) -> int:
        return self.offset + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.offset + self.size, self.total)


def page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 1_000_000))
    except ValueError:
        return 1


def page_of(total: int, size: int, number: int | None = None) -> Page:
    number = number or page_number()
    pages = max(1, -(-total // size))

    def link(n: int) -> str:
        # Keys starting with "_" are url_for's own options (_scheme, _external, _anchor, _method), never a filter:
        # taken from the query they would make a javascript: link or fail.
        args = {k: v for k, v in request.args.items(multi=False) if k != "page" and not k.startswith("_")
                and k not in (request.view_args or {})}
        return url_for(request.endpoint or "dashboard.index", **(request.view_args or {}), **args, page=n)

    return Page(number, size, total, link(number - 1) if number > 1 else None,
                link(number + 1) if number < pages else None)
