"""The `eakte` command. Every command is scriptable: with its options given it never prompts."""
from __future__ import annotations

import datetime as dt
import getpass
import logging
import signal
import sys
from pathlib import Path
from typing import Any, Callable, NoReturn

import click
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from eakte.config import ConfigError, load_settings
from eakte.errors import EakteError, SchemaOutdated
from eakte.models import User
from eakte.bootstrap import build_runtime
from eakte.jobs import jobs_of
from eakte.runtime import Runtime
from eakte.services import access_requests, audit_anchor, cases, casetypes, checkout, documents, fileplan, identity
from eakte.services import integrity
from eakte.services.access import SYSTEM, Actor, Principal, load_principal
from storage import BlobStoreError
from workflows.definition import DefinitionError

_KNOWN_ERRORS = (EakteError, ConfigError, SchemaOutdated, BlobStoreError, DefinitionError, OSError)


class Cli(click.Group):
    """Turns every expected error into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _KNOWN_ERRORS as exc:
            fail(str(exc))


def fail(message: str) -> NoReturn:
    click.echo(f"eakte: error: {message}", err=True)
    sys.exit(1)


def runtime(ctx: click.Context) -> Runtime:
    obj = ctx.ensure_object(dict)
    if "rt" not in obj:
        obj["rt"] = build_runtime(load_settings(obj.get("config")))
        ctx.call_on_close(obj["rt"].close)
    return obj["rt"]


def cli_actor() -> Actor:
    """Whoever runs the command on the server is its operator: admin rights, audited under their OS name."""
    return Actor(Principal(SYSTEM.user_id, f"cli:{getpass.getuser()}", {0: frozenset({"admin"})}), "cli")


def user_actor(rt: Runtime, username: str) -> Actor:
    with rt.db.read() as session:
        user = identity.user_by_name(session, username)
        if not user.is_active:  # acting for someone who has left would sidestep their deactivation
            fail(f"user {username} is deactivated")
        return Actor(load_principal(session, user, rt.registry.restricted, rt.settings.confidentiality), "cli")


@click.group(cls=Cli)
@click.option("--config", "config", type=click.Path(dir_okay=False), envvar="EAKTE_CONFIG",
              help="TOML configuration file (default: built-in defaults and EAKTE_* variables).")
@click.version_option(package_name="eakte")
@click.pass_context
def main(ctx: click.Context, config: str | None) -> None:
    """eakte: electronic records (E-Akte) with case workflows."""
    ctx.ensure_object(dict)["config"] = config
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


# --- setup ------------------------------------------------------------------------------------------------

@main.command()
@click.option("--admin", "admin_name", default="admin", show_default=True, help="User name of the first admin.")
@click.option("--admin-password", help="Password of the first admin (for the web UI); none if omitted.")
@click.option("--admin-unit", default="ADM", show_default=True, help="Code of the administration unit.")
@click.option("--admin-unit-name", default="Verwaltungsleitung / IT", show_default=True)
@click.pass_context
def init(ctx: click.Context, admin_name: str, admin_password: str | None, admin_unit: str,
         admin_unit_name: str) -> None:
    """Create the data directory and schema, and the first admin; prints the admin's API token."""
    rt = runtime(ctx)
    rt.settings.data_dir.mkdir(parents=True, exist_ok=True)
    rt.db.upgrade()
    with rt.db.write() as session:
        if session.execute(select(User).limit(1)).first():
            fail("this installation has users already; use `eakte user create` to add more")
        actor = cli_actor()
        identity.create_unit(session, actor, admin_unit, admin_unit_name)
        user = identity.create_user(session, actor, admin_name, password=admin_password,
                                    roles=[identity.UnitRole(admin_unit, "admin")])
        token = identity.issue_token(session, actor, user, "init")
    click.echo(f"Initialised {rt.settings.data_dir.resolve()} ({_safe_url(rt.settings.database_url)}).")
    click.echo(f"Admin {admin_name}: API token {token}")


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply all migrations."""
    rt = runtime(ctx)
    rt.db.upgrade()
    click.echo(f"Schema at revision {rt.db.current_revision()}.")


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Show the schema revision and whether it is up to date."""
    rt = runtime(ctx)
    current, head = rt.db.current_revision(), rt.db.head_revision()
    click.echo(f"{current or 'none'} (code needs {head}){'' if current == head else ': run `eakte db upgrade`'}")


# --- serving ----------------------------------------------------------------------------------------------

@main.command()
@click.option("--host", help="Address to listen on (default from config: 127.0.0.1).")
@click.option("--port", type=int, help="Port (default from config: 8080).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the API with waitress, a production WSGI server."""
    rt = runtime(ctx)
    _serve(rt, host or rt.settings.server.host, port or rt.settings.server.port)


def _serve(rt: Runtime, host: str, port: int, banner: Callable[[str], None] | None = None) -> None:
    from waitress import create_server

    from eakte.app import create_app

    app = create_app(rt)
    server = create_server(app, host=host, port=port, threads=rt.settings.server.threads,
                           max_request_body_size=rt.settings.ingest.max_size_mb * 1024 * 1024 * 2)
    url = f"http://{host}:{server.effective_port}"  # type: ignore[union-attr]
    # The embedded default needs no separate worker: jobs run in this process.
    jobs = jobs_of(rt)
    consumer = jobs.consumer() if rt.settings.jobs.in_process and not jobs.huey.immediate else None
    if consumer:
        consumer.start()
    signal.signal(signal.SIGTERM, _interrupt)  # stop cleanly on SIGTERM too: let running jobs finish
    (banner or (lambda u: click.echo(f"eakte listening on {u}  (Ctrl+C stops)")))(url)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if consumer:
            consumer.stop_and_wait()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--seed-only", is_flag=True, help="Seed the demo data and exit without serving.")
@click.pass_context
def demo(ctx: click.Context, host: str, port: int, seed_only: bool) -> None:
    """Seed a demo municipality (once) into the data directory, then serve it and print the logins."""
    from eakte.demo import TOWN, demo_settings, seed_demo

    rt = runtime(ctx)
    rt.settings = demo_settings(rt.settings)  # before the case types load: the demo brings its own debtor
    rt.settings.data_dir.mkdir(parents=True, exist_ok=True)
    rt.db.upgrade()
    logins = seed_demo(rt)

    def banner(url: str) -> None:
        click.echo(f"\neakte demo ({TOWN}, Demo) — data in {rt.settings.data_dir.resolve()}")
        click.echo(f"Web:  {url}/login   (Browser; Anmeldung mit einem der Benutzer unten)")
        click.echo(f"API:  {url}/api/v1   OpenAPI: {url}/api/v1/openapi.json\n")
        click.echo(f"{'user':10} {'password':14} {'roles':38} API token")
        for login in logins:
            click.echo(f"{login.username:10} {login.password:14} {login.roles:38} {login.token}")
        click.echo("\nIm Browser: anna (Rechnungseingang) legt Akten an und nimmt Rechnungen entgegen; die Demo-Rechnungen "
                   "warten im Postkorb von anna, oskar (sachlich richtig) und bernd (rechnerisch richtig); "
                   "heidi erteilt die Anordnung. Personalakten: petra (Personalamt) führt sie, helga leitet das "
                   "Personalamt, beate (Beihilfestelle) sieht die Beihilfe, erika sieht ihre eigene Akte.")
        click.echo(f"API:        curl -H 'Authorization: Bearer {logins[0].token}' {url}/api/v1/inbox\n")

    if seed_only:
        banner(f"http://{host}:{port}")
        return
    _serve(rt, host, port, banner)


@main.command()
@click.option("--workers", type=int, help="Worker threads (default from config: jobs.workers).")
@click.pass_context
def worker(ctx: click.Context, workers: int | None) -> None:
    """Run background jobs (text extraction, escalation, hooks) until stopped."""
    rt = runtime(ctx)
    if rt.settings.jobs.backend == "immediate":
        fail("jobs.backend is 'immediate': jobs run inline, there is nothing for a worker to do")
    rt.db.require_current_schema()
    rt.registry  # noqa: B018 - refuse to start on a broken case type, as the server does
    click.echo(f"eakte worker: {rt.settings.jobs.backend} queue, {workers or rt.settings.jobs.workers} threads")
    jobs_of(rt).huey.create_consumer(workers=workers or rt.settings.jobs.workers, worker_type="thread").run()


@main.command("case-types")
@click.pass_context
def case_types(ctx: click.Context) -> None:
    """List the installed case types with their steps; warn of settings naming units that do not exist."""
    rt = runtime(ctx)
    for key, ct in sorted(rt.registry.types.items()):
        steps = " → ".join(s.key for s in ct.steps) or "(no workflow)"
        click.echo(f"{key:20} {ct.label_de} / {ct.label_en}: {steps}")
    try:
        rt.db.require_current_schema()
    except SchemaOutdated as exc:
        click.echo(f"eakte: note: unit codes not checked: {exc}", err=True)
        return
    for line in casetypes.unknown_units(rt):
        click.echo(f"eakte: warning: {line}", err=True)


@main.group()
def invoices() -> None:
    """Invoice approval (Rechnungsworkflow)."""


@invoices.command("export-payments")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True)
@click.option("--user", "username", required=True, help="The cash-office clerk who exports.")
@click.option("--execution-date", type=click.DateTime(formats=["%Y-%m-%d"]), help="Requested execution date.")
@click.pass_context
def invoices_export(ctx: click.Context, out_dir: Path, username: str, execution_date: dt.datetime | None) -> None:
    """Write released invoices as CSV and SEPA pain.001 into OUT_DIR and mark them exported."""
    from eakte.services import invoices as invoice_service
    rt = runtime(ctx)
    actor = user_actor(rt, username)
    result = invoice_service.export_payments(rt, actor, execution_date.date() if execution_date else None)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in ("csv", "pain001") if result.pain001_key else ("csv",):
        name, _mime, stream = invoice_service.export_file(rt, actor, result.export_id, kind)
        with stream, (out_dir / name).open("wb") as out:
            while block := stream.read(1024 * 1024):
                out.write(block)
        written.append(str(out_dir / name))
    click.echo(f"{result.count} invoices, {result.total} EUR: {', '.join(written)}")
    for item in result.not_sepa:
        click.echo(f"not in the SEPA file: {item['reference']}: {item['reason']}", err=True)
    for item in result.refused:
        click.echo(f"not exported: {item['reference']}: {item['reason']}", err=True)


@main.group("search")
def search_group() -> None:
    """The full-text index."""


@search_group.command("reindex")
@click.pass_context
def search_reindex(ctx: click.Context) -> None:
    """Rebuild the index from the database (in chunks: bounded memory)."""
    from eakte.models import Document
    from eakte.services import indexing
    rt = runtime(ctx)
    with rt.db.read() as session:
        total = session.execute(select(func.count()).select_from(Document)).scalar_one()
    with click.progressbar(length=total, label="Indexing documents", file=sys.stderr) as bar:
        done = indexing.reindex(rt, progress=bar.update)
    click.echo(f"{done} documents indexed.")


@search_group.command("check")
@click.pass_context
def search_check(ctx: click.Context) -> None:
    """Compare index and database; exits 1 on differences."""
    from eakte.services import indexing
    report = indexing.check(runtime(ctx))
    for doc_id in report.missing[:50]:
        click.echo(f"missing from the index: {indexing.entry_name(doc_id)}", err=True)
    for doc_id in report.stale[:50]:
        click.echo(f"in the index but not in the database: {indexing.entry_name(doc_id)}", err=True)
    summary = (f"{report.in_database} documents and notes in the database, {report.in_index} in the index, "
               f"{len(report.missing)} missing, {len(report.stale)} stale, {report.pending} changes pending")
    if not report.ok:
        fail(summary + ": run `eakte search reindex`")
    click.echo(summary + ".")


@main.command("export")
@click.option("--query", "query", help="Choose the cases by a search query.")
@click.option("--case-id", "case_ids", type=int, multiple=True, help="Choose cases by id (repeatable).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--user", "username", required=True, help="The auditor (or admin) who exports.")
@click.pass_context
def export_(ctx: click.Context, query: str | None, case_ids: tuple[int, ...], out: Path, username: str) -> None:
    """Export cases as a BagIt ZIP with files, metadata, audit trail and manifest."""
    from eakte.services import exports
    rt = runtime(ctx)
    actor = user_actor(rt, username)
    chosen = exports.select_cases(rt, actor, exports.ExportSelection(case_ids, query))
    bag = exports.stream_bag(rt, actor, chosen)
    written = 0
    with out.open("wb") as fh, click.progressbar(length=bag.size, label=f"Exporting {len(chosen)} cases",
                                                  file=sys.stderr) as bar:
        for chunk in bag.chunks:
            fh.write(chunk)
            written += len(chunk)
            bar.update(len(chunk))
    click.echo(f"{out}: {len(chosen)} cases, {written} bytes ({bag.filename}).")


# --- administration ---------------------------------------------------------------------------------------

@main.group()
def unit() -> None:
    """Organisational units (Organisationseinheiten)."""


@unit.command("create")
@click.argument("code")
@click.argument("name")
@click.pass_context
def unit_create(ctx: click.Context, code: str, name: str) -> None:
    """Create a unit, e.g. `eakte unit create 20 Kämmerei`."""
    rt = runtime(ctx)
    with rt.db.write() as session:
        created = identity.create_unit(session, cli_actor(), code, name)
    click.echo(f"Unit {created.code} ({created.name}) created.")


@main.group()
def user() -> None:
    """Users, roles and API tokens."""


@user.command("create")
@click.argument("username")
@click.option("--unit", "units", multiple=True, help="Unit code; pairs with the --role at the same position.")
@click.option("--role", "roles", multiple=True, help="clerk, approver, auditor, admin, or a role a case type adds.")
@click.option("--password", help="Password for the web UI (at least 8 characters).")
@click.option("--display-name", default="")
@click.option("--email")
@click.pass_context
def user_create(ctx: click.Context, username: str, units: tuple[str, ...], roles: tuple[str, ...],
                password: str | None, display_name: str, email: str | None) -> None:
    """Create a user: `eakte user create anna --unit 20 --role clerk --unit 20 --role approver`."""
    if len(units) != len(roles):
        fail(f"--unit and --role come in pairs: got {len(units)} --unit and {len(roles)} --role")
    rt = runtime(ctx)
    with rt.db.write() as session:
        identity.create_user(session, cli_actor(), username, display_name=display_name, email=email,
                             password=password, roles=[identity.UnitRole(u, r) for u, r in zip(units, roles)],
                             known_roles=rt.registry.roles)
    click.echo(f"User {username} created.")


@user.command("token")
@click.argument("username")
@click.option("--name", default="cli", help="A label for the token.")
@click.option("--revoke-all", is_flag=True, help="Revoke all the user's tokens instead of issuing one.")
@click.pass_context
def user_token(ctx: click.Context, username: str, name: str, revoke_all: bool) -> None:
    """Print a new personal API token for the user (shown once), or revoke all of them."""
    rt = runtime(ctx)
    if revoke_all:
        change = identity.revoke_tokens(rt, cli_actor(), username)
        click.echo(f"{change.revoked_tokens} tokens of {username} revoked.")
        return
    with rt.db.write() as session:
        token = identity.issue_token(session, cli_actor(), identity.user_by_name(session, username), name)
    click.echo(token)


@user.command("deactivate")
@click.argument("username")
@click.pass_context
def user_deactivate(ctx: click.Context, username: str) -> None:
    """Lock the user out at once (password and tokens) and release the tasks they had claimed."""
    change = identity.deactivate_user(runtime(ctx), cli_actor(), username)
    click.echo(f"User {username} deactivated; {len(change.released_tasks)} claimed tasks released.")


@user.command("activate")
@click.argument("username")
@click.pass_context
def user_activate(ctx: click.Context, username: str) -> None:
    """Let a deactivated user in again (revoked tokens stay revoked)."""
    identity.activate_user(runtime(ctx), cli_actor(), username)
    click.echo(f"User {username} active.")


@user.command("role")
@click.argument("username")
@click.option("--unit", "unit_code", required=True, help="Unit code.")
@click.option("--add", "add", multiple=True, help="Grant this role in the unit (repeatable).")
@click.option("--remove", "remove", multiple=True, help="Remove this role in the unit (repeatable).")
@click.pass_context
def user_role(ctx: click.Context, username: str, unit_code: str, add: tuple[str, ...],
              remove: tuple[str, ...]) -> None:
    """Grant or remove roles: `eakte user role anna --unit 20 --remove approver`."""
    if not add and not remove:
        fail("give --add ROLE or --remove ROLE")
    rt = runtime(ctx)
    actor = cli_actor()
    if add:
        with rt.db.write() as session:
            user = identity.user_by_name(session, username)
            for role in add:
                identity.grant_role(session, actor, user, identity.UnitRole(unit_code, role), rt.registry.roles)
    released = 0
    for role in remove:
        released += len(identity.revoke_role(rt, actor, username, identity.UnitRole(unit_code, role)).released_tasks)
    changes = ", ".join([f"+{r}" for r in add] + [f"-{r}" for r in remove])
    click.echo(f"Roles of {username} in {unit_code}: {changes}"
               + (f"; {released} claimed tasks released." if remove else "."))


@main.group("file-plan")
def file_plan() -> None:
    """The file plan (Aktenplan)."""


@file_plan.command("add")
@click.argument("code")
@click.argument("title")
@click.option("--retention-years", type=int, required=True)
@click.option("--disposal", type=click.Choice(["archive", "destroy"]), default="archive", show_default=True)
@click.pass_context
def file_plan_add(ctx: click.Context, code: str, title: str, retention_years: int, disposal: str) -> None:
    """Add a node, e.g. `eakte file-plan add 20.30 Rechnungen --retention-years 10`."""
    rt = runtime(ctx)
    with rt.db.write() as session:
        fileplan.add_node(session, cli_actor(), code, title, retention_years, disposal)
    click.echo(f"File plan node {code} {title} added.")


@file_plan.command("list")
@click.pass_context
def file_plan_list(ctx: click.Context) -> None:
    """List the file plan."""
    rt = runtime(ctx)
    with rt.db.read() as session:
        for node in fileplan.list_nodes(session):
            indent = "  " * node.code.count(".")
            click.echo(f"{indent}{node.code:10} {node.title}  ({node.retention_years} J., {node.disposal})")


# --- records ----------------------------------------------------------------------------------------------

@main.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--case", "reference", required=True, help="Reference of the case to file into, e.g. 20.30/0001/2026.")
@click.option("--user", "username", required=True, help="The user on whose behalf (and with whose rights) to file.")
@click.option("--kind", default="document", show_default=True)
@click.option("--recursive/--no-recursive", default=False, show_default=True)
@click.pass_context
def import_(ctx: click.Context, directory: Path, reference: str, username: str, kind: str, recursive: bool) -> None:
    """Import every file of DIRECTORY as a document of the case; rejected files are reported and skipped."""
    rt = runtime(ctx)
    actor = user_actor(rt, username)
    with rt.db.read() as session:
        case = cases.case_by_reference(session, actor, reference)
    documents.require_allowed_kind(rt, case, kind)  # once, as one line: it would refuse every file alike
    files = sorted(p for p in (directory.rglob("*") if recursive else directory.iterdir()) if p.is_file())
    rejected: list[tuple[Path, str]] = []
    imported = 0
    with click.progressbar(files, label=f"Importing into {reference}", show_pos=True, file=sys.stderr) as bar:
        for path in bar:
            try:
                with path.open("rb") as fh:
                    documents.add_document(rt, actor, case.id, documents.NewDocument(title=path.stem, kind=kind),
                                           documents.Upload(fh, path.name))
                imported += 1
            except (EakteError, OSError) as exc:
                rejected.append((path, str(exc)))
    click.echo(f"{imported} imported, {len(rejected)} rejected.")
    for path, reason in rejected:
        click.echo(f"rejected: {path}: {reason}", err=True)
    if rejected and not imported:
        sys.exit(1)


@main.group("documents")
def documents_group() -> None:
    """Documents."""


@documents_group.command("unlock")
@click.argument("document_id", type=click.IntRange(min=1))
@click.option("--reason", required=True, help="Why the check-out is broken (kept in the case's audit trail).")
@click.pass_context
def documents_unlock(ctx: click.Context, document_id: int, reason: str) -> None:
    """Break a stale check-out of DOCUMENT_ID (as the operator, an admin); audited with the holder's name."""
    document, holder = checkout.break_lock(runtime(ctx), cli_actor(), document_id, reason)
    click.echo(f"Document {document.id} ({document.title}): check-out by {holder.username} since "
               f"{holder.since:%Y-%m-%d %H:%M} UTC broken.")


# --- recorded-reason access ---------------------------------------------------------------------------------

@main.group("access-requests")
def access_requests_group() -> None:
    """Recorded-reason access (Einsicht mit Begründung) to restricted files, e.g. personnel files."""


def _request_line(r: access_requests.AccessRequestEntry) -> str:
    until = f" until {r.expires_at:%Y-%m-%d %H:%M} UTC" if r.expires_at else ""
    flags = " (immediate)" if r.immediate else ""
    return f"{r.id}\t{r.case_reference}\t{r.user}\t{r.status}{until}{flags}\t{r.reason}"


@access_requests_group.command("list")
@click.option("--as", "username", required=True, help="Whose view: their own requests and those they decide.")
@click.option("--status", type=click.Choice(access_requests.STATUSES))
@click.pass_context
def access_requests_list(ctx: click.Context, username: str, status: str | None) -> None:
    """List access requests as USER sees them, the newest first (id, case, requester, status, reason)."""
    rt = runtime(ctx)
    items, total = access_requests.list_requests(rt, user_actor(rt, username), status=status, limit=500)
    for r in items:
        click.echo(_request_line(r))
    click.echo(f"{total} access requests.")


@access_requests_group.command("grant")
@click.argument("request_id", type=click.IntRange(min=1))
@click.option("--as", "username", required=True, help="Who decides: the granting role in the case's unit.")
@click.pass_context
def access_requests_grant(ctx: click.Context, request_id: int, username: str) -> None:
    """Grant a pending request for the case type's configured hours; audited under USER."""
    rt = runtime(ctx)
    click.echo(_request_line(access_requests.decide_grant(rt, user_actor(rt, username), request_id)))


@access_requests_group.command("refuse")
@click.argument("request_id", type=click.IntRange(min=1))
@click.option("--as", "username", required=True, help="Who decides: the granting role in the case's unit.")
@click.option("--comment", required=True, help="Why access is refused (kept in the case's audit trail).")
@click.pass_context
def access_requests_refuse(ctx: click.Context, request_id: int, username: str, comment: str) -> None:
    """Refuse a pending request; audited under USER."""
    rt = runtime(ctx)
    click.echo(_request_line(access_requests.decide_refuse(rt, user_actor(rt, username), request_id, comment)))


# --- integrity --------------------------------------------------------------------------------------------

@main.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    """Check the hash chain and compare it with the newest checkpoints in the blob store (a cut-off tail or a
    recomputed chain); exits 1 with one line naming the problem. A successful run records a new checkpoint.
    The result is recorded in the audit trail, where the verification page shows it."""
    from eakte.clock import utcnow
    from eakte.services import verification
    rt, started = runtime(ctx), utcnow()
    result = audit_anchor.verify(rt)
    verification.record_result(rt, cli_actor(), "audit", started, result)
    if result.problem is not None:
        fail(result.problem)
    click.echo(f"Audit trail intact: {result.checked} events, agreeing with {result.compared} checkpoint(s); "
               f"checkpoint recorded.")


@main.group()
def storage() -> None:
    """The blob store."""


@storage.command("verify")
@click.pass_context
def storage_verify(ctx: click.Context) -> None:
    """Re-hash every referenced blob; exits 1 if any is missing or corrupt. The result is recorded in the audit
    trail, where the verification page shows it."""
    from eakte.clock import utcnow
    from eakte.services import verification
    rt, started = runtime(ctx), utcnow()
    total = len(integrity.referenced_keys(rt))
    with click.progressbar(length=total, label="Verifying blobs", file=sys.stderr) as bar:
        report = integrity.verify_storage(rt, bar.update)
    verification.record_result(rt, cli_actor(), "storage", started, report)
    for key in report.missing:
        click.echo(f"missing: {key}", err=True)
    for key in report.corrupt:
        click.echo(f"corrupt: {key}", err=True)
    if not report.ok:
        fail(f"{len(report.missing)} missing and {len(report.corrupt)} corrupt of {report.checked} blobs")
    click.echo(f"All {report.checked} blobs intact.")


@storage.command("gc")
@click.option("--grace-hours", type=float, help="Keep unreferenced blobs younger than this (default from config).")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@click.pass_context
def storage_gc(ctx: click.Context, grace_hours: float | None, dry_run: bool) -> None:
    """Remove blobs that no document version references, after a grace period."""
    rt = runtime(ctx)
    hours = rt.settings.storage.gc_grace_hours if grace_hours is None else grace_hours
    report = integrity.collect_garbage(rt, cli_actor(), dt.timedelta(hours=hours), dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for key in report.removed:
        click.echo(f"{verb}: {key}")
    click.echo(f"{len(report.removed)} blobs {verb}, {report.kept_in_grace} kept within the {hours:g} h grace "
               f"period, {len(report.locked)} locked, {report.temp_files_removed} abandoned uploads removed.")


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


from eakte.cli_trade import trade  # noqa: E402  (at the end: it uses this module's helpers)
main.add_command(trade)
from eakte.cli_levy import levy  # noqa: E402
main.add_command(levy)
