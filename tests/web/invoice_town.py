"""The town for invoices in the web tests: the invoice case type routed to the Ordnungsamt (32), and the approvers
the chain needs (as tests/workflows/test_invoice_flow.py sets them up), all able to sign in."""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask.testing import FlaskClient

from eakte.runtime import Runtime
from eakte.services import identity
from tests.conftest import OPERATOR, TESTDATA, make_runtime
from tests.web.conftest import PASSWORD, csrf_token

XR = TESTDATA / "xrechnung"
INVOICE_SETTINGS = {"invoice": {"routing": {"12345": "32"}}}
EXTRA_USERS = {
    "mia": [("32", "approver"), ("20", "clerk")],   # could do sachlich and rechnerisch: four-eyes must stop her
    "otto": [("32", "approver")],
    "kurt": [("20", "clerk")],
    "paul": [("10", "clerk")],                      # another unit: sees none of it
}
_ROW = re.compile(r'<tr id="task-(\d+)"[^>]*>(.*?)</tr>', re.S)


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    """Overrides tests/conftest.py's `rt`: the same, with invoices routed by their Leitweg-ID."""
    runtime = make_runtime(tmp_path, db_url, case_types=INVOICE_SETTINGS)
    yield runtime
    runtime.close()


@pytest.fixture
def invoice_town(rt: Runtime, town: Any) -> Any:
    with rt.db.write() as session:
        for name, roles in EXTRA_USERS.items():
            user = identity.create_user(session, OPERATOR, name, password=PASSWORD, known_roles=rt.registry.roles,
                                        roles=[identity.UnitRole(u, r) for u, r in roles])
            town.user_ids[name] = user.id
            town.tokens[name] = identity.issue_token(session, OPERATOR, user, "test")
    return town


def upload(client: FlaskClient, path: Path | None = None, *, content: bytes | None = None, name: str | None = None,
           **form: str) -> Any:
    """Take in an invoice through the intake form, the way a browser sends it."""
    data = content if content is not None else (path.read_bytes() if path else b"")
    token = csrf_token(client, "/invoices/intake")
    return client.post("/invoices/intake", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(data), name or (path.name if path else "x")),
                             **form})


def inbox_rows(client: FlaskClient, query: str = "") -> dict[int, str]:
    """The task rows of the inbox page: task id → the row's HTML."""
    page = client.get("/inbox" + query)
    assert page.status_code == 200
    return {int(i): row for i, row in _ROW.findall(page.get_data(as_text=True))}


def task_of(client: FlaskClient, reference: str) -> int:
    """The id of the task of case `reference` in the client's inbox (fails when it is not there)."""
    found = [i for i, row in inbox_rows(client).items() if reference in row]
    assert len(found) == 1, f"{reference} not (once) in the inbox"
    return found[0]


def decide(client: FlaskClient, task_id: int, decision: str, comment: str = "", confirm: bool = True) -> Any:
    token = csrf_token(client, f"/tasks/{task_id}")
    data = {"csrf_token": token, "decision": decision, "comment": comment}
    if confirm:
        data["confirm"] = "1"
    return client.post(f"/tasks/{task_id}/decide", data=data)


def reference_of(response: Any) -> str:
    """The Aktenzeichen the intake flash names (after following the redirect)."""
    match = re.search(r"als Akte ([^ <]+) erfasst", response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:2000]
    return match.group(1)
