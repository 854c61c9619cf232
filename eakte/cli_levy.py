"""`eakte levy`: the misallocation levy's batch work — the survey run from a landlord's list, reminders after the
deadline, the dated tables, the cash office's payment import. Registered in eakte.cli (imported at its end, so
this module may use its helpers)."""
from __future__ import annotations

from pathlib import Path

import click


@click.group("levy")
def levy() -> None:
    """The misallocation levy (Fehlbelegungsabgabe): surveys, reminders, tables, payments."""


# --- tables (helper calc) -----------------------------------------------------------------------------------

@levy.group("tables")
def levy_tables() -> None:
    """The dated levy tables (income limits, bands, Höchstbeträge): list, load a TOML version, confirm one."""


def _version_line(row: object) -> str:
    from eakte.services.levy.tables import TableVersionRow
    assert isinstance(row, TableVersionRow)
    state = f"confirmed {row.confirmed_at:%Y-%m-%d} by {row.confirmed_by}" if row.confirmed_at else "unconfirmed"
    ident = str(row.id) if row.id is not None else "default"
    return (f"{ident}\t{row.label}\t{row.sha256[:12]}\t{state}" + ("\tactive" if row.active else "")
            + ("\tbuilt-in" if row.builtin else ""))


@levy_tables.command("list")
@click.pass_context
def levy_tables_list(ctx: click.Context) -> None:
    """One line per version, newest first: id (default: the built-in tables, not stored), label, hash, state."""
    from eakte.cli import cli_actor, runtime
    from eakte.services.levy.tables import list_versions
    for row in list_versions(runtime(ctx), cli_actor()):
        click.echo(_version_line(row))


@levy_tables.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--label", required=True, help="The version's unique name, e.g. hessen-2026-01.")
@click.option("--note", default=None, help="Where the figures come from (kept with the version).")
@click.option("--as", "username", required=True,
              help="The admin who loads it (a named user: the version records who loaded it).")
@click.pass_context
def levy_tables_load(ctx: click.Context, file: Path, label: str, note: str | None, username: str) -> None:
    """Load FILE (TOML, format in workflows/levy/tables.py) as a new version: validated whole, then active and
    unconfirmed."""
    from eakte.cli import fail, runtime, user_actor
    from eakte.services.levy.tables import load_tables
    rt = runtime(ctx)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{file}: not UTF-8 text")
    row = load_tables(rt, user_actor(rt, username), text, label, note)
    click.echo(f"Loaded {_version_line(row)}")


@levy_tables.command("confirm")
@click.argument("version")
@click.option("--as", "username", required=True, help="The admin who confirms it (recorded with the version).")
@click.pass_context
def levy_tables_confirm(ctx: click.Context, version: str, username: str) -> None:
    """Confirm VERSION (its id, or "default" for the built-in tables, which are stored by this) — once."""
    from eakte.cli import fail, runtime, user_actor
    from eakte.services.levy.tables import confirm_tables
    if version != "default" and not version.isdigit():
        fail(f"VERSION must be a version id or 'default', got {version!r}")
    rt = runtime(ctx)
    row = confirm_tables(rt, user_actor(rt, username), "default" if version == "default" else int(version))
    click.echo(f"Confirmed {_version_line(row)}")


# --- the survey run and its reminders (H2) ------------------------------------------------------------------

import datetime as dt  # noqa: E402  (this section's own imports)

@levy.command("survey")
@click.option("--flats", "flats", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The landlord's list of flats (CSV, UTF-8, ';' or ',' separated).")
@click.option("--landlord", required=True, help="The landlord whose list it is (on every flat's case).")
@click.option("--as", "username", required=True, help="The levy clerk who runs the survey (audited under them).")
@click.option("--reference-date", type=click.DateTime(["%Y-%m-%d"]), help="Stichtag (default: 1 January).")
@click.option("--deadline", type=click.DateTime(["%Y-%m-%d"]), help="Answer deadline (default: today + "
                                                                    "response_days).")
@click.option("--period-start", type=click.DateTime(["%Y-%m-%d"]), help="First day of the payment period, the 1st "
                                                                        "of a month (default: next month).")
@click.option("--period-months", type=int, help="Length of the payment period (default: period_months).")
@click.pass_context
def levy_survey(ctx: click.Context, flats: Path, landlord: str, username: str, reference_date: dt.datetime | None,
                deadline: dt.datetime | None, period_start: dt.datetime | None, period_months: int | None) -> None:
    """Run the survey for the list FLATS: prints one summary line and one line per refused line; exits 1 when the
    list has errors (then nothing is stored)."""
    from eakte.cli import fail, runtime, user_actor
    from eakte.clock import office_today
    from eakte.errors import Invalid
    from eakte.services.levy.survey import SurveyRequest, add_months, run_survey
    rt = runtime(ctx)
    actor = user_actor(rt, username)
    today = office_today()
    start = period_start.date() if period_start else add_months(today.replace(day=1), 1)
    request = SurveyRequest(landlord=landlord,
                            reference_date=reference_date.date() if reference_date else dt.date(start.year, 1, 1),
                            period_start=start, deadline=deadline.date() if deadline else None,
                            period_months=period_months, source_name=flats.name)
    try:
        with flats.open("rb") as stream:
            result = run_survey(rt, actor, request, stream)
    except Invalid as exc:
        for problem in exc.extra.get("errors") or []:
            if "line" in problem:
                column = f" ({problem['column']})" if problem.get("column") else ""
                click.echo(f"line {problem['line']}{column}: {problem['messages_de'][0]}")
        fail(exc.detail_de or str(exc))
    click.echo(f"survey {result.survey_id}: {len(result.households)} households ({result.created} new flats), "
               f"{result.letters} letters, {len(result.skipped)} skipped, {result.seconds:.1f} s")
    for problem in result.skipped:
        click.echo(f"line {problem.line}: skipped: {problem.message_de}")


@levy.command("remind")
@click.option("--as", "username", required=True, help="The levy clerk who sends the reminders.")
@click.pass_context
def levy_remind(ctx: click.Context, username: str) -> None:
    """Send a reminder to every household still in Erhebung whose deadline has passed (once each)."""
    from eakte.cli import runtime, user_actor
    from eakte.services.levy.survey import send_reminders
    rt = runtime(ctx)
    click.echo(f"{send_reminders(rt, user_actor(rt, username))} reminders sent.")


@levy.group("payments")
def levy_payments() -> None:
    """The levy's payments: the cash office's CSV import, reversals."""


@levy_payments.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", required=True, help="The levy clerk on whose behalf the payments are booked "
                                                      "(audited under them).")
@click.pass_context
def levy_payments_import(ctx: click.Context, file: Path, username: str) -> None:
    """Book the cash office's CSV FILE (Buchungsnummer;Buchungsdatum;Betrag;Verwendungszweck): one line per line
    not booked (a duplicate or unmatched), then a summary. A malformed file books nothing and exits 1."""
    from eakte.cli import fail, runtime, user_actor
    from eakte.errors import EakteError
    from eakte.services.levy.payments import import_payments
    rt = runtime(ctx)
    actor = user_actor(rt, username)
    try:
        with file.open("rb") as stream:
            report = import_payments(rt, actor, stream, file.name)
    except EakteError as exc:
        fail(" ".join((exc.detail_de or str(exc)).split()))
    for problem in report.problems:
        click.echo(f"line {problem.line}: {problem.kind}: {problem.booking_id}: {problem.message_de}")
    click.echo(f"{len(report.imported)} of {report.lines} payments booked ({report.total:.2f} EUR; "
               f"{len(report.confirmed)} confirm payments typed in by hand), {len(report.duplicates)} duplicates, "
               f"{len(report.unmatched)} unmatched.")


@levy_payments.command("reverse")
@click.argument("payment_id", type=click.IntRange(min=1, max=2**63 - 1))
@click.option("--reason", required=True, help="Why the payment is reversed (e.g. booked to the wrong case).")
@click.option("--as", "username", required=True, help="The levy clerk who reverses it (audited under them).")
@click.pass_context
def levy_payments_reverse(ctx: click.Context, payment_id: int, reason: str, username: str) -> None:
    """Reverse (Storno) payment PAYMENT_ID: a reversal names it, and neither counts in the balance any more."""
    from eakte.cli import fail, runtime, user_actor
    from eakte.errors import EakteError
    from eakte.services.levy.payments import reverse_payment
    rt = runtime(ctx)
    try:
        reversal = reverse_payment(rt, user_actor(rt, username), payment_id, reason)
    except EakteError as exc:
        fail(" ".join((exc.detail_de or str(exc)).split()))
    click.echo(f"payment {payment_id} reversed ({reversal.amount:.2f} EUR), reversal {reversal.id}.")
