"""Helpers shared by the benchmarks: percentiles, output, bulk COPY into PostgreSQL and a database of one's own."""
from __future__ import annotations

import math
import os
import statistics
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_PG = os.environ.get("EAKTE_TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def fmt(xs: list[float]) -> str:
    if not xs:
        return "no samples"
    return (f"p50 {pct(xs, .5):7.1f}  p95 {pct(xs, .95):7.1f}  p99 {pct(xs, .99):7.1f}  "
            f"mean {statistics.fmean(xs):7.1f} ms  (n={len(xs)})")


def say(msg: str) -> None:
    print(msg, flush=True)


def copy_rows(raw: Any, table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
    n = 0
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)
            n += 1
    return n


@contextmanager
def temporary_database(server_url: str, prefix: str = "eakte_bench") -> Iterator[str]:
    """A database of its own on the server, dropped at the end (also on error); yields its URL."""
    base = make_url(server_url)
    name = f"{prefix}_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
