"""`eakte trade`: the trade register's batch work — send the due transmissions now, take in a file of
notifications (JSON lines, e.g. an export of the online service), purge the old retrieval logs. Registered in
eakte.cli (imported at its end, so this module may use its helpers)."""
from __future__ import annotations

import json
from pathlib import Path

import click

from eakte.cli import fail, runtime, user_actor
from eakte.clock import utcnow
from eakte.errors import EakteError


@click.group("trade")
def trade() -> None:
    """The trade register (Gewerberegister): transmissions, batch intake, retrieval logs."""


@trade.command("send")
@click.pass_context
def trade_send(ctx: click.Context) -> None:
    """Send every due transmission now (what the periodic job does each minute); prints one line."""
    from eakte.services.trade import outbox
    report = outbox.send_due(runtime(ctx), utcnow())
    click.echo(f"{report.sent} transmissions sent, {report.retried} to be retried, {report.failed} failed.")


@trade.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", required=True, help="The trade clerk on whose behalf the notifications are taken "
                                                      "in (audited under them).")
@click.pass_context
def trade_import(ctx: click.Context, file: Path, username: str) -> None:
    """Take in FILE: one notification per line as JSON (the body of POST /api/v1/intake/trade). Prints one line
    per notification; exits 1 if any was refused (the others are taken in all the same)."""
    from eakte.services.trade import intake
    rt = runtime(ctx)
    actor = user_actor(rt, username)
    taken = refused = 0
    with file.open(encoding="utf-8") as lines:  # line by line: a large export is never read whole
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                payload = json.loads(line)
                if not isinstance(payload, dict):
                    raise ValueError("not a JSON object")
                result = intake.submit_notification(rt, actor, payload, source="import")
            except (EakteError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
                refused += 1
                click.echo(f"line {number}: refused: {_reason(exc)}")
                continue
            taken += 1
            business = (result.case.metadata_ or {}).get("business_id") or result.case.reference
            click.echo(f"line {number}: {payload.get('notification')} {business}: {result.procedure.reference} "
                       f"{'new business' if result.created else 'taken in'}")
    if refused:
        fail(f"{refused} of {taken + refused} notifications refused")


def _reason(exc: Exception) -> str:
    field = getattr(exc, "extra", {}).get("field") if isinstance(exc, EakteError) else None
    text = " ".join(str(exc).split())  # one line, whatever the message holds
    return f"{field}: {text}" if field and not text.startswith(f"{field}:") else text


@trade.command("purge-retrievals")
@click.pass_context
def trade_purge_retrievals(ctx: click.Context) -> None:
    """Delete the register retrieval logs older than the kept period (GewO §14(10): six months), as the periodic
    job does; the audit trail keeps that the purge ran."""
    from eakte.services.trade import extracts
    count = extracts.purge_retrievals(runtime(ctx), utcnow())
    click.echo(f"{count} retrieval log entries deleted.")

