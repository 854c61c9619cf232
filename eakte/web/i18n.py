"""Language (Flask-Babel: German by default, English per user) and the formats of dates, money and IBANs."""
from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from babel import numbers as babel_numbers
from flask import Flask, g, session
from flask_babel import Babel, format_currency, format_date, format_datetime, format_decimal, get_locale

from eakte import __version__
from eakte.clock import OFFICE_TZ
from eakte.web.labels import format_number, role_label, status_label
from eakte.services.logins import DEFAULT_LOCALE, LOCALES

TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"
CATALOGUES = "*/LC_MESSAGES/*.po"
log = logging.getLogger(__name__)


def select_locale() -> str:
    # The signed-in user's choice (read with the session), else this browser's choice, else German.
    chosen = getattr(g, "locale", None) or session.get("locale")
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


def _outdated(po: Path, mo: Path) -> bool:
    return not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime


def compile_catalogue(po: Path, mo: Path) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        catalogue = read_po(f)
    mo.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=mo.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        write_mo(f, catalogue)  # fuzzy entries are left out: they show the German msgid
    os.replace(tmp, mo)  # atomic: several workers may start at once


def translation_directory(data_dir: Path) -> Path:
    """Where Flask-Babel reads the compiled catalogues.

    The .mo files are built with the package (setup.py's build_py, for `pip install .` and `pip install -e .`).
    Run from a checkout that was not (re)installed after a .po changed, a .mo is missing or older than its .po:
    then every catalogue is compiled now into <data_dir>/cache/translations and read from there."""
    pos = sorted(TRANSLATIONS.glob(CATALOGUES))
    if not any(_outdated(po, po.with_suffix(".mo")) for po in pos):
        return TRANSLATIONS
    cache = data_dir / "cache" / "translations"
    try:
        for po in pos:
            mo = cache / po.relative_to(TRANSLATIONS).with_suffix(".mo")
            if _outdated(po, mo):
                compile_catalogue(po, mo)
    except OSError as exc:
        log.warning("could not compile the translations into %s (%s): the interface stays German", cache, exc)
        return TRANSLATIONS
    return cache


def init_i18n(app: Flask) -> None:
    data_dir = Path(app.extensions["eakte"].settings.data_dir)
    app.config.update(BABEL_DEFAULT_LOCALE=DEFAULT_LOCALE, BABEL_DEFAULT_TIMEZONE=str(OFFICE_TZ),
                      BABEL_TRANSLATION_DIRECTORIES=str(translation_directory(data_dir)))
    Babel(app, locale_selector=select_locale)
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.filters.update(date=fmt_date, datetime=fmt_datetime, money=fmt_money, iban=fmt_iban,
                                 filesize=fmt_filesize)
    app.jinja_env.filters.update(format_number=format_number, status_label=status_label, role_label=role_label)
    app.jinja_env.globals.update(current_locale=lambda: str(get_locale() or DEFAULT_LOCALE), LOCALES=LOCALES,
                                 role_label=role_label, status_label=status_label, eakte_version=__version__,
                                 breadcrumbs=None)


def fmt_date(value: dt.date | dt.datetime | str | None) -> str:
    """24.11.2026 in German, the locale's medium date otherwise; datetimes by their office-local date."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        value = _aware(value).astimezone(OFFICE_TZ).date()
    return format_date(value, "dd.MM.yyyy" if str(get_locale()) == "de" else "medium")


def fmt_datetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    local = _aware(value).astimezone(OFFICE_TZ)
    if str(get_locale()) == "de":
        return local.strftime("%d.%m.%Y, %H:%M Uhr")
    return format_datetime(local, "medium")


def _aware(value: dt.datetime) -> dt.datetime:
    # The database keeps naive UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def fmt_money(value: Any, currency: str | None = "EUR", exact: bool = False) -> str:
    """`exact`: every decimal the value has, at least the currency's (a unit price of 3,3333 € is not 3,33 €)."""
    if value in (None, ""):
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if exact:  # Flask-Babel's wrapper does not pass decimal_quantization on
        return babel_numbers.format_currency(amount, currency or "EUR", locale=get_locale(),
                                             decimal_quantization=False)
    return format_currency(amount, currency or "EUR")


def fmt_iban(value: str | None) -> str:
    if not value:
        return ""
    compact = "".join(str(value).split())
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def fmt_filesize(size: int | None) -> str:
    if size is None:
        return ""
    units = ["B", "KB", "MB", "GB"]
    value, unit = float(size), 0
    while value >= 1024 and unit < len(units) - 1:
        value, unit = value / 1024, unit + 1
    return f"{format_decimal(round(value, 1), '#,##0.#')} {units[unit]}"
