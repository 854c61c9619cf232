"""Units, users, memberships, passwords (argon2) and personal API tokens (stored as SHA-256)."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any, Mapping

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import distinct, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from eakte.clock import OFFICE_TZ, office_today, utcnow
from eakte.config import ConfidentialitySettings
from eakte.errors import Conflict, Invalid, NotFound, Unauthorized
from eakte.models import ApiToken, AuditEvent, Membership, Unit, User, WebSession
from eakte.runtime import Runtime
from eakte.services import audit, workflow
from eakte.services.access import Actor, Principal, load_principal, require_admin
from workflows.definition import CORE_ROLES, CaseType

TOKEN_PREFIX = "eak_"
_hasher = PasswordHasher()
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,99}$")


@dataclass(frozen=True)
class UnitRole:
    unit_code: str
    role: str


def create_unit(session: Session, actor: Actor, code: str, name: str) -> Unit:
    if not _CODE.match(code):
        raise Invalid(f"unit code {code!r}: expected 1-32 letters, digits, '.', '_' or '-'",
                      detail_de="Kennung: 1 bis 32 Buchstaben, Ziffern, '.', '_' oder '-'", field="code")
    if not name.strip():
        raise Invalid("unit name must not be empty", detail_de="Der Name darf nicht leer sein", field="name")
    if session.execute(select(Unit).where(Unit.code == code)).scalar():
        raise Conflict(f"unit {code} exists already", detail_de=f"Organisationseinheit {code} gibt es bereits",
                       field="code")
    unit = Unit(code=code, name=name.strip())
    session.add(unit)
    session.flush()
    audit.record(session, actor, "unit.create", "unit", unit.id, details={"code": code, "name": unit.name})
    return unit


def unit_by_code(session: Session, code: str) -> Unit:
    unit = session.execute(select(Unit).where(Unit.code == code)).scalar()
    if unit is None:
        raise NotFound(f"no unit with code {code!r}", detail_de=f"Keine Organisationseinheit {code!r}")
    return unit


def create_user(session: Session, actor: Actor, username: str, *, display_name: str = "",
                email: str | None = None, password: str | None = None,
                roles: list[UnitRole] | tuple[UnitRole, ...] = (),
                known_roles: frozenset[str] = CORE_ROLES) -> User:
    if not _USERNAME.match(username):
        raise Invalid(f"user name {username!r}: expected lower-case letters, digits, '.', '_', '@' or '-'",
                      detail_de="Benutzername: Kleinbuchstaben, Ziffern, '.', '_', '@' oder '-'", field="username")
    if session.execute(select(User).where(User.username == username)).scalar():
        raise Conflict(f"user {username} exists already", detail_de=f"Benutzer {username} gibt es bereits",
                       field="username")
    user = User(username=username, display_name=display_name or username, email=email,
                password_hash=hash_password(password) if password else None)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id,
                 details={"username": username, "password_set": bool(password)})
    for unit_role in roles:
        grant_role(session, actor, user, unit_role, known_roles)
    return user


def grant_role(session: Session, actor: Actor, user: User, unit_role: UnitRole,
               known_roles: frozenset[str] = CORE_ROLES) -> None:
    """`known_roles`: the core roles plus those the installed case types introduce (e.g. value-tier roles)."""
    if unit_role.role not in known_roles:
        raise Invalid(f"role {unit_role.role!r}: expected one of {', '.join(sorted(known_roles))}",
                      detail_de="Diese Rolle gibt es nicht", field="role")
    unit = unit_by_code(session, unit_role.unit_code)
    # Names read before the insert: after a failed flush the transaction is gone, and with it the objects' state.
    username, code = user.username, unit.code
    duplicate = Conflict(f"{username} has role {unit_role.role} in {code} already",
                         detail_de=f"{username} hat diese Rolle in {code} bereits", field="role")
    if session.execute(select(Membership.id).where(Membership.user_id == user.id, Membership.unit_id == unit.id,
                                                   Membership.role == unit_role.role)).first():
        raise duplicate
    session.add(Membership(user_id=user.id, unit_id=unit.id, role=unit_role.role))
    try:
        session.flush()
    except IntegrityError:  # granted by a concurrent request in the meantime
        raise duplicate from None
    audit.record(session, actor, "user.grant_role", "user", user.id,
                 details={"unit": unit.code, "role": unit_role.role})


def user_by_name(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar()
    if user is None:
        raise NotFound(f"no user {username!r}", detail_de=f"Kein Benutzer {username!r}")
    return user


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise Invalid("password: expected at least 8 characters", detail_de="Passwort: mindestens 8 Zeichen",
                      field="password")
    return _hasher.hash(password)


def check_password(session: Session, username: str, password: str, restricted: Mapping[str, CaseType],
                   confidentiality: ConfidentialitySettings | None = None) -> Principal:
    user = session.execute(select(User).where(User.username == username)).scalar()
    try:
        if user is None or not user.is_active or not user.password_hash:
            raise VerificationError
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("wrong user name or password", detail_de="Benutzername oder Passwort falsch") from None
    return load_principal(session, user, restricted, confidentiality)


def issue_token(session: Session, actor: Actor, user: User, name: str = "",
                expires_at: dt.datetime | None = None) -> str:
    """Returns the secret once; only its hash is kept. `expires_at`: naive UTC, None for no expiry."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_token_hash(secret), expires_at=expires_at)
    session.add(token)
    session.flush()
    audit.record(session, actor, "token.issue", "user", user.id,
                 details={"token_id": token.id, "name": name,
                          "expires_at": expires_at.isoformat() if expires_at else None})
    return secret


def principal_for_token(session: Session, secret: str, restricted: Mapping[str, CaseType],
                        confidentiality: ConfidentialitySettings | None = None) -> Principal:
    token = session.execute(select(ApiToken).where(ApiToken.token_hash == _token_hash(secret))).scalar()
    now = utcnow()
    if (token is None or token.revoked_at is not None or (token.expires_at and token.expires_at < now)
            or not token.user.is_active):
        raise Unauthorized("invalid or revoked API token", detail_de="API-Token ungültig oder widerrufen")
    return load_principal(session, token.user, restricted, confidentiality)


# --- people leaving: deactivation, token revocation, role removal (admins only) ------------------------------
# Each takes effect on the caller's next request: tokens, memberships and the active flag are read per request.

@dataclass(frozen=True)
class AccountChange:
    username: str
    is_active: bool
    revoked_tokens: int = 0
    released_tasks: tuple[int, ...] = ()


def deactivate_user(rt: Runtime, actor: Actor, username: str) -> AccountChange:
    """Lock a user out (password and every token) and hand their claimed tasks back to their colleagues.
    Deactivating an inactive user changes nothing and records nothing."""
    require_admin(actor.principal)
    with rt.db.write() as session:
        user = user_by_name(session, username)
        if user.id == actor.principal.user_id:
            # An admin locking themselves out through the API could leave nobody to undo it; the CLI can.
            raise Conflict("you cannot deactivate yourself", detail_de="Sie können sich nicht selbst deaktivieren")
        if not user.is_active:
            return AccountChange(user.username, False)
        user.is_active = False
        audit.record(session, actor, "user.deactivate", "user", user.id, details={"username": user.username})
        released = workflow.release_claims(session, actor, user.id, "user deactivated")
        return AccountChange(user.username, False, released_tasks=tuple(released))


def activate_user(rt: Runtime, actor: Actor, username: str) -> AccountChange:
    """Undo a deactivation. Revoked tokens stay revoked: the returning user gets a new one."""
    require_admin(actor.principal)
    with rt.db.write() as session:
        user = user_by_name(session, username)
        if not user.is_active:
            user.is_active = True
            audit.record(session, actor, "user.activate", "user", user.id, details={"username": user.username})
        return AccountChange(user.username, True)


def revoke_tokens(rt: Runtime, actor: Actor, username: str) -> AccountChange:
    """Revoke every token of the user that is not revoked yet (e.g. a laptop was lost)."""
    require_admin(actor.principal)
    with rt.db.write() as session:
        user = user_by_name(session, username)
        tokens = session.execute(select(ApiToken).where(ApiToken.user_id == user.id,
                                                        ApiToken.revoked_at.is_(None))
                                 .order_by(ApiToken.id)).scalars().all()
        now = utcnow()
        for token in tokens:
            token.revoked_at = now
        if tokens:
            audit.record(session, actor, "token.revoke_all", "user", user.id,
                         details={"token_ids": [t.id for t in tokens]})
        return AccountChange(user.username, user.is_active, revoked_tokens=len(tokens))


def revoke_role(rt: Runtime, actor: Actor, username: str, unit_role: UnitRole) -> AccountChange:
    """Remove one role in one unit; tasks the user had claimed and can no longer act on are released."""
    require_admin(actor.principal)
    with rt.db.write() as session:
        user = user_by_name(session, username)
        unit = unit_by_code(session, unit_role.unit_code)
        if user.id == actor.principal.user_id and unit_role.role == "admin":
            raise Conflict("you cannot remove your own admin role",
                           detail_de="Sie können sich die Rolle Administration nicht selbst entziehen")
        membership = session.execute(select(Membership).where(
            Membership.user_id == user.id, Membership.unit_id == unit.id,
            Membership.role == unit_role.role)).scalar()
        if membership is None:
            raise NotFound(f"{user.username} has no role {unit_role.role} in {unit.code}",
                           detail_de=f"{user.username} hat die Rolle {unit_role.role} in {unit.code} nicht")
        session.delete(membership)
        session.flush()
        audit.record(session, actor, "user.revoke_role", "user", user.id,
                     details={"unit": unit.code, "role": unit_role.role})
        remaining = load_principal(session, user, {})
        released = workflow.release_claims(session, actor, user.id, f"role {unit_role.role} in {unit.code} removed",
                                           unless_may_act=remaining)
        return AccountChange(user.username, user.is_active, released_tasks=tuple(released))


def _token_hash(secret: str) -> str:
    # A fast hash is right here: the secret is random with 256 bits of entropy, unlike a password.
    return hashlib.sha256(secret.encode()).hexdigest()


def whoami(rt: Runtime, principal: Principal) -> tuple[User, dict[int, Unit]]:
    """The calling user and the units they hold roles in, by id (a unit of work of its own)."""
    with rt.db.read() as session:
        user = session.get(User, principal.user_id)
        if user is None:
            raise NotFound("the calling user no longer exists")
        units = {u.id: u for u in session.execute(select(Unit).where(Unit.id.in_(principal.unit_ids))).scalars()}
        return user, units


def authenticate(rt: Runtime, secret: str) -> Principal:
    """The principal an API token stands for, read in a transaction of its own (raises Unauthorized)."""
    with rt.db.read() as session:
        return principal_for_token(session, secret, rt.registry.restricted, rt.settings.confidentiality)


# --- one's own account: password and personal API tokens ------------------------------------------------------

# A personal token lives at most this long: a forgotten token on a lost laptop must run out by itself.
MAX_TOKEN_DAYS = 366


@dataclass(frozen=True)
class TokenInfo:
    """What the owner may see of a token: never the secret (only its hash is stored anyway)."""
    id: int
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def is_expired(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and self.expires_at < now


def change_password(rt: Runtime, actor: Actor, current_password: str, new_password: str, *,
                    keep_session: str | None = None) -> int:
    """The signed-in user's own password; the current one must be given (a session left open is not enough).
    Invalid errors carry `field` ("current_password" or "new_password") so a form can show them where they belong.
    The user's other browser sessions end (whoever knew the old password is signed out); `keep_session` is the
    secret of the session that made the change. API tokens stay: they are credentials of their own.
    Returns the number of sessions ended."""
    with rt.db.write() as session:
        user = session.get(User, actor.principal.user_id)
        if user is None or not user.is_active:
            raise NotFound("the calling user no longer exists")
        try:
            if not user.password_hash:
                raise VerificationError
            _hasher.verify(user.password_hash, current_password)
        except (VerificationError, InvalidHashError):
            raise Invalid("current password is wrong", detail_de="Das aktuelle Passwort ist falsch.",
                          field="current_password") from None
        try:
            user.password_hash = hash_password(new_password)
        except Invalid as exc:
            raise Invalid(exc.detail, detail_de=exc.detail_de, field="new_password") from None
        user.must_change_password = False  # a one-time password an admin set is replaced now
        ended = _end_sessions(session, user.id, keep=keep_session)
        audit.record(session, actor, "user.password_change", "user", user.id, details={"sessions_ended": ended})
        return len(ended)


def _end_sessions(session: Session, user_id: int, *, keep: str | None = None) -> list[int]:
    """Ends the user's open browser sessions but the one whose secret is `keep`; the ids of those ended."""
    # Stored as SHA-256 of the secret, like tokens (eakte.services.logins).
    kept = _token_hash(keep) if keep else ""
    rows = session.execute(select(WebSession).where(
        WebSession.user_id == user_id, WebSession.ended_at.is_(None),
        WebSession.secret_hash != kept)).scalars().all()
    now = utcnow()
    for row in rows:
        row.ended_at = now
    return [row.id for row in rows]


def token_expiry(expires_on: dt.date) -> dt.datetime:
    """A token valid through `expires_on` (the office's calendar) ends at the following midnight in Berlin;
    stored as naive UTC like every timestamp."""
    today = office_today()
    if expires_on <= today:
        raise Invalid("expiry date must lie in the future", detail_de="Das Ablaufdatum muss in der Zukunft liegen.",
                      field="expires_on")
    if (expires_on - today).days > MAX_TOKEN_DAYS:
        raise Invalid(f"expiry date: at most {MAX_TOKEN_DAYS} days ahead",
                      detail_de=f"Das Ablaufdatum darf höchstens {MAX_TOKEN_DAYS} Tage in der Zukunft liegen.",
                      field="expires_on")
    midnight = dt.datetime.combine(expires_on + dt.timedelta(days=1), dt.time(0), OFFICE_TZ)
    return midnight.astimezone(dt.timezone.utc).replace(tzinfo=None)


def create_own_token(rt: Runtime, actor: Actor, name: str, expires_on: dt.date) -> str:
    """A personal token of the signed-in user; the secret is returned this once."""
    name = name.strip()
    if not name:
        raise Invalid("token name must not be empty", detail_de="Bitte geben Sie dem Token einen Namen.",
                      field="name")
    if len(name) > 100:
        raise Invalid("token name: at most 100 characters", detail_de="Der Name darf höchstens 100 Zeichen haben.",
                      field="name")
    expires_at = token_expiry(expires_on)
    with rt.db.write() as session:
        user = session.get(User, actor.principal.user_id)
        if user is None or not user.is_active:
            raise NotFound("the calling user no longer exists")
        return issue_token(session, actor, user, name, expires_at)


def own_tokens(rt: Runtime, actor: Actor) -> list[TokenInfo]:
    """The signed-in user's tokens, newest first, revoked and expired ones included."""
    with rt.db.read() as session:
        return list(_token_rows(session, actor.principal.user_id))


def revoke_own_token(rt: Runtime, actor: Actor, token_id: int) -> TokenInfo:
    """Revoke one of one's own tokens; another user's token is "not found" (its existence is not revealed).
    Revoking a revoked token changes nothing."""
    with rt.db.write() as session:
        token = session.get(ApiToken, token_id)
        if token is None or token.user_id != actor.principal.user_id:
            raise NotFound(f"no token {token_id}", detail_de="Dieses Token gibt es nicht.")
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            audit.record(session, actor, "token.revoke", "user", token.user_id,
                         details={"token_id": token.id, "name": token.name})
        return TokenInfo(token.id, token.name, token.created_at, token.expires_at, token.revoked_at)


# --- the admin pages: units, users, roles, tokens, one-time passwords (admins only) --------------------------

@dataclass(frozen=True)
class UnitRow:
    code: str
    name: str
    members: int


@dataclass(frozen=True)
class UserRow:
    username: str
    display_name: str
    email: str | None
    is_active: bool
    must_change_password: bool
    roles: tuple[UnitRole, ...]


@dataclass(frozen=True)
class HistoryEvent:
    occurred_at: dt.datetime
    actor: str
    action: str
    details: dict[str, Any]


@dataclass(frozen=True)
class UserDetail:
    user: UserRow
    created_at: dt.datetime
    tokens: tuple[TokenInfo, ...]
    history: tuple[HistoryEvent, ...]


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    email: str | None
    password: str
    first_role: UnitRole


HISTORY_LIMIT = 100


def list_units(rt: Runtime, actor: Actor) -> list[UnitRow]:
    require_admin(actor.principal)
    with rt.db.read() as session:
        members = func.count(distinct(Membership.user_id))
        rows = session.execute(select(Unit.code, Unit.name, members).outerjoin(Membership, Membership.unit_id == Unit.id)
                               .group_by(Unit.id, Unit.code, Unit.name).order_by(Unit.code)).all()
        return [UnitRow(code, name, n) for code, name, n in rows]


def add_unit(rt: Runtime, actor: Actor, code: str, name: str) -> UnitRow:
    require_admin(actor.principal)
    with rt.db.write() as session:
        unit = create_unit(session, actor, code.strip(), name)
        return UnitRow(unit.code, unit.name, 0)


def rename_unit(rt: Runtime, actor: Actor, code: str, name: str) -> UnitRow:
    """A unit keeps its code (case references and memberships point at it); only the name changes."""
    require_admin(actor.principal)
    name = name.strip()
    if not name:
        raise Invalid("unit name must not be empty", detail_de="Der Name darf nicht leer sein")
    with rt.db.write() as session:
        unit = unit_by_code(session, code)
        if unit.name != name:
            old, unit.name = unit.name, name
            audit.record(session, actor, "unit.rename", "unit", unit.id,
                         details={"code": unit.code, "from": old, "to": name})
        return UnitRow(unit.code, unit.name, _members(session, unit.id))


def _members(session: Session, unit_id: int) -> int:
    return session.execute(select(func.count(distinct(Membership.user_id)))
                           .where(Membership.unit_id == unit_id)).scalar_one()


def _user_row(user: User) -> UserRow:
    roles = tuple(sorted((UnitRole(m.unit.code, m.role) for m in user.memberships),
                         key=lambda r: (r.unit_code, r.role)))
    return UserRow(user.username, user.display_name, user.email, user.is_active, user.must_change_password, roles)


def list_users(rt: Runtime, actor: Actor, *, offset: int = 0, limit: int = 50) -> tuple[list[UserRow], int]:
    """Users by name with their roles per unit, one page of them, and how many there are."""
    require_admin(actor.principal)
    with rt.db.read() as session:
        total = session.execute(select(func.count(User.id))).scalar_one()
        users = session.execute(select(User).options(selectinload(User.memberships).joinedload(Membership.unit))
                                .order_by(User.username).offset(offset).limit(limit)).scalars().all()
        return [_user_row(u) for u in users], total


def new_user(rt: Runtime, actor: Actor, new: NewUser) -> UserRow:
    """An account with an initial password the admin knows (so the user must change it) and a first role."""
    require_admin(actor.principal)
    with rt.db.write() as session:
        user = create_user(session, actor, new.username.strip(), display_name=new.display_name.strip(),
                           email=(new.email or "").strip() or None, password=new.password,
                           roles=[new.first_role], known_roles=rt.registry.roles)
        user.must_change_password = True
        session.flush()
        session.refresh(user)
        return _user_row(user)


def add_role(rt: Runtime, actor: Actor, username: str, unit_role: UnitRole) -> None:
    require_admin(actor.principal)
    with rt.db.write() as session:
        grant_role(session, actor, user_by_name(session, username), unit_role, rt.registry.roles)


def _token_rows(session: Session, user_id: int) -> tuple[TokenInfo, ...]:
    tokens = session.execute(select(ApiToken).where(ApiToken.user_id == user_id)
                             .order_by(ApiToken.id.desc())).scalars()
    return tuple(TokenInfo(t.id, t.name, t.created_at, t.expires_at, t.revoked_at) for t in tokens)


def list_tokens(rt: Runtime, actor: Actor, username: str) -> tuple[TokenInfo, ...]:
    require_admin(actor.principal)
    with rt.db.read() as session:
        return _token_rows(session, user_by_name(session, username).id)


def user_detail(rt: Runtime, actor: Actor, username: str) -> UserDetail:
    """A user, their roles, tokens and the newest events about them (which include their logins)."""
    require_admin(actor.principal)
    with rt.db.read() as session:
        user = user_by_name(session, username)
        events = session.execute(select(AuditEvent).where(AuditEvent.object_type == "user",
                                                          AuditEvent.object_id == str(user.id))
                                 .order_by(AuditEvent.id.desc()).limit(HISTORY_LIMIT)).scalars()
        history = tuple(HistoryEvent(e.occurred_at, e.actor, e.action, e.details) for e in events)
        return UserDetail(_user_row(user), user.created_at, _token_rows(session, user.id), history)


def revoke_token(rt: Runtime, actor: Actor, username: str, token_id: int) -> bool:
    """Revoke one token of the user; False when it was revoked already."""
    require_admin(actor.principal)
    with rt.db.write() as session:
        user = user_by_name(session, username)
        token = session.execute(select(ApiToken).where(ApiToken.id == token_id,
                                                       ApiToken.user_id == user.id)).scalar()
        if token is None:
            raise NotFound(f"{user.username} has no token {token_id}", detail_de="Dieses API-Token gibt es nicht")
        if token.revoked_at is not None:
            return False
        token.revoked_at = utcnow()
        audit.record(session, actor, "token.revoke", "user", user.id, details={"token_id": token.id})
        return True


def reset_password(rt: Runtime, actor: Actor, username: str, password: str) -> None:
    """The admin sets a one-time password; the user must choose their own at the next login. Every browser
    session of the user ends: a reset usually means the old password (or a session) is in the wrong hands."""
    require_admin(actor.principal)
    with rt.db.write() as session:
        user = user_by_name(session, username)
        user.password_hash = hash_password(password)
        user.must_change_password = True
        ended = _end_sessions(session, user.id)
        audit.record(session, actor, "user.password_reset", "user", user.id,
                     details={"username": user.username, "sessions_ended": ended})



def unit_row(rt: Runtime, actor: Actor, code: str) -> UnitRow:
    require_admin(actor.principal)
    with rt.db.read() as session:
        unit = unit_by_code(session, code)
        return UnitRow(unit.code, unit.name, _members(session, unit.id))
