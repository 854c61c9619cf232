"""Browser sessions: log in with a password, find the principal of a session cookie, log out, idle timeout.

The cookie holds a random secret; only its SHA-256 is stored (like API tokens), so a database reader cannot
hijack a session. Sessions are ended, never deleted, and every login and logout is audited."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update

from eakte.clock import utcnow
from eakte.errors import Invalid, Unauthorized
from eakte.models import User, WebSession
from eakte.runtime import Runtime
from eakte.services import audit, identity
from eakte.services.access import Actor, Principal, load_principal

LOCALES = ("de", "en")
DEFAULT_LOCALE = "de"
# last_seen_at is written at most this often, so a page with ten requests is not ten writes.
_TOUCH_EVERY = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class Login:
    secret: str
    principal: Principal
    locale: str | None
    must_change_password: bool = False


@dataclass(frozen=True)
class SessionInfo:
    principal: Principal
    locale: str | None
    # An admin set the password: every page but the change-password page waits until the user has replaced it.
    must_change_password: bool


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def log_in(rt: Runtime, username: str, password: str, client_addr: str | None) -> Login:
    """A new session for the user (raises Unauthorized with the same message for every kind of failure)."""
    try:
        with rt.db.write() as session:
            principal = identity.check_password(session, username, password, rt.registry.restricted,
                                                rt.settings.confidentiality)
            secret = secrets.token_urlsafe(32)
            row = WebSession(user_id=principal.user_id, secret_hash=_hash(secret), client_addr=client_addr)
            session.add(row)
            session.flush()
            audit.record(session, Actor(principal, client_addr), "login", "user", principal.user_id,
                         details={"session_id": row.id})
            user = session.get(User, principal.user_id)
            assert user is not None  # check_password has just read it
            locale, must_change = user.locale, user.must_change_password
    except Unauthorized:
        _record_failure(rt, username, client_addr)
        raise
    return Login(secret, principal, locale, must_change)


def _record_failure(rt: Runtime, username: str, client_addr: str | None) -> None:
    """In a transaction of its own: the failed attempt's transaction is rolled back by the exception."""
    with rt.db.write() as session:
        user = session.execute(select(User).where(User.username == username)).scalar()
        if user is not None:
            audit.record(session, Actor(Principal(user.id, user.username), client_addr), "login.failed",
                         "user", user.id, details={"active": user.is_active})


def session_principal(rt: Runtime, secret: str) -> SessionInfo:
    """The principal of a live session and the user's language; an ended, idle or deactivated one raises."""
    idle = dt.timedelta(minutes=rt.settings.web.session_idle_minutes)
    now = utcnow()
    with rt.db.read() as session:
        row = session.execute(select(WebSession).where(WebSession.secret_hash == _hash(secret))).scalar()
        if row is None or row.ended_at is not None or not row.user.is_active:
            raise Unauthorized("session ended", detail_de="Die Sitzung ist beendet. Bitte melden Sie sich an.")
        if now - row.last_seen_at > idle:
            expired = row.id
        else:
            expired = None
            principal = load_principal(session, row.user, rt.registry.restricted, rt.settings.confidentiality)
            locale, touch = row.user.locale, now - row.last_seen_at > _TOUCH_EVERY
            must_change = row.user.must_change_password
    if expired is not None:
        with rt.db.write() as session:
            session.execute(update(WebSession).where(WebSession.id == expired, WebSession.ended_at.is_(None))
                            .values(ended_at=now))
        raise Unauthorized("session expired", detail_de="Die Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.")
    if touch:
        with rt.db.write() as session:
            session.execute(update(WebSession).where(WebSession.secret_hash == _hash(secret))
                            .values(last_seen_at=now))
    return SessionInfo(principal, locale, must_change)


def log_out(rt: Runtime, actor: Actor, secret: str) -> None:
    with rt.db.write() as session:
        row = session.execute(select(WebSession).where(WebSession.secret_hash == _hash(secret))).scalar()
        if row is None or row.ended_at is not None:
            return
        row.ended_at = utcnow()
        audit.record(session, actor, "logout", "user", row.user_id, details={"session_id": row.id})


def set_locale(rt: Runtime, actor: Actor, locale: str) -> None:
    if locale not in LOCALES:
        raise Invalid(f"locale: expected one of {', '.join(LOCALES)}", detail_de="Sprache nicht verfügbar")
    with rt.db.write() as session:
        user = session.get(User, actor.principal.user_id)
        if user is None or user.locale == locale:
            return
        old, user.locale = user.locale, locale
        audit.record(session, actor, "user.locale", "user", user.id, details={"from": old, "to": locale})
