"""The Runtime the application was built over (pages call services with it, never open sessions)."""
from __future__ import annotations

from flask import current_app

from eakte.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["eakte"]
