"""Bearer-token authentication and the acting principal of the request."""
from __future__ import annotations

from apiflask import HTTPTokenAuth
from flask import current_app, request

from eakte.errors import EakteError
from eakte.services import identity
from eakte.services.access import Actor, Principal

token_auth = HTTPTokenAuth(scheme="Bearer", description="Personal API token (`eakte user token NAME`)")


@token_auth.verify_token
def _verify(token: str) -> Principal | None:
    if not token:
        return None
    try:
        return identity.authenticate(current_app.extensions["eakte"], token)
    except EakteError:
        return None


def current_actor() -> Actor:
    principal = token_auth.current_user
    assert isinstance(principal, Principal)
    return Actor(principal, request.remote_addr)
