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
from eakte.services import audit
from eakte.services.access import Actor, Principal, load_principal
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


def _token_hash(secret: str) -> str:
    # A fast hash is right here: the secret is random with 256 bits of entropy, unlike a password.
    return hashlib.sha256(secret.encode()).hexdigest()
