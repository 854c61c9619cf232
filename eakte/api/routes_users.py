"""User administration endpoints (admins only): deactivate, reactivate, revoke tokens, remove a role."""
from __future__ import annotations

from typing import Any

from apiflask import Schema, fields

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import api, current_runtime
from eakte.services import identity


class AccountChangeOut(Schema):
    username = fields.String()
    is_active = fields.Boolean()
    revoked_tokens = fields.Integer(metadata={"description": "tokens revoked by this call"})
    released_tasks = fields.List(fields.Integer(), metadata={"description": "ids of claimed tasks handed back"})


def _view(change: identity.AccountChange) -> dict[str, Any]:
    return {"username": change.username, "is_active": change.is_active, "revoked_tokens": change.revoked_tokens,
            "released_tasks": list(change.released_tasks)}


@api.post("/users/<username>/deactivate")
@api.auth_required(token_auth)
@api.output(AccountChangeOut)
@api.doc(summary="Lock a user out at once and release their claimed tasks (admins)")
def deactivate_user(username: str) -> dict[str, Any]:
    return _view(identity.deactivate_user(current_runtime(), current_actor(), username))


@api.post("/users/<username>/activate")
@api.auth_required(token_auth)
@api.output(AccountChangeOut)
@api.doc(summary="Let a deactivated user in again; revoked tokens stay revoked (admins)")
def activate_user(username: str) -> dict[str, Any]:
    return _view(identity.activate_user(current_runtime(), current_actor(), username))


@api.delete("/users/<username>/tokens")
@api.auth_required(token_auth)
@api.output(AccountChangeOut)
@api.doc(summary="Revoke all API tokens of a user (admins)")
def revoke_tokens(username: str) -> dict[str, Any]:
    return _view(identity.revoke_tokens(current_runtime(), current_actor(), username))


@api.delete("/users/<username>/roles/<unit>/<role>")
@api.auth_required(token_auth)
@api.output(AccountChangeOut)
@api.doc(summary="Remove one role of a user in a unit; claimed tasks they can no longer act on are released "
                 "(admins)")
def revoke_role(username: str, unit: str, role: str) -> dict[str, Any]:
    return _view(identity.revoke_role(current_runtime(), current_actor(), username, identity.UnitRole(unit, role)))
