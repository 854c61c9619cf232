"""Units, users, memberships, passwords (argon2) and personal API tokens (stored as SHA-256)."""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from eakte.clock import utcnow
from eakte.errors import Conflict, Invalid, NotFound, Unauthorized
from eakte.models import ApiToken, Membership, Unit, User
from eakte.runtime import Runtime
from eakte.services import audit, workflow
from eakte.services.access import Actor, Principal, load_principal, require_admin
from workflows.definition import CORE_ROLES

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
        raise Invalid(f"unit code {code!r}: expected 1-32 letters, digits, '.', '_' or '-'")
    if not name.strip():
        raise Invalid("unit name must not be empty")
    if session.execute(select(Unit).where(Unit.code == code)).scalar():
        raise Conflict(f"unit {code} exists already", detail_de=f"Organisationseinheit {code} gibt es bereits")
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
        raise Invalid(f"user name {username!r}: expected lower-case letters, digits, '.', '_', '@' or '-'")
    if session.execute(select(User).where(User.username == username)).scalar():
        raise Conflict(f"user {username} exists already", detail_de=f"Benutzer {username} gibt es bereits")
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
        raise Invalid(f"role {unit_role.role!r}: expected one of {', '.join(sorted(known_roles))}")
    unit = unit_by_code(session, unit_role.unit_code)
    session.add(Membership(user_id=user.id, unit_id=unit.id, role=unit_role.role))
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"{user.username} has role {unit_role.role} in {unit.code} already") from None
    audit.record(session, actor, "user.grant_role", "user", user.id,
                 details={"unit": unit.code, "role": unit_role.role})


def user_by_name(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar()
    if user is None:
        raise NotFound(f"no user {username!r}", detail_de=f"Kein Benutzer {username!r}")
    return user


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise Invalid("password: expected at least 8 characters", detail_de="Passwort: mindestens 8 Zeichen")
    return _hasher.hash(password)


def check_password(session: Session, username: str, password: str, restricted_types: frozenset[str]) -> Principal:
    user = session.execute(select(User).where(User.username == username)).scalar()
    try:
        if user is None or not user.is_active or not user.password_hash:
            raise VerificationError
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("wrong user name or password", detail_de="Benutzername oder Passwort falsch") from None
    return load_principal(session, user, restricted_types)


def issue_token(session: Session, actor: Actor, user: User, name: str = "") -> str:
    """Returns the secret once; only its hash is kept."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_token_hash(secret))
    session.add(token)
    session.flush()
    audit.record(session, actor, "token.issue", "user", user.id, details={"token_id": token.id, "name": name})
    return secret


def principal_for_token(session: Session, secret: str, restricted_types: frozenset[str]) -> Principal:
    token = session.execute(select(ApiToken).where(ApiToken.token_hash == _token_hash(secret))).scalar()
    now = utcnow()
    if (token is None or token.revoked_at is not None or (token.expires_at and token.expires_at < now)
            or not token.user.is_active):
        raise Unauthorized("invalid or revoked API token", detail_de="API-Token ungültig oder widerrufen")
    return load_principal(session, token.user, restricted_types)


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
        remaining = load_principal(session, user, frozenset())
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
        return principal_for_token(session, secret, rt.registry.restricted_types)
