"""A short property-based run of the whole API from its own OpenAPI document (schemathesis): whatever a
clerk or an admin sends, valid or not, the answer is never a server error.

Driven through schemathesis' Python API (`operation.as_strategy()` under Hypothesis) rather than its pytest
plugin, whose fixture-based loader does not run on pytest 9; the app is called in-process over WSGI.
"""
from __future__ import annotations

import io
from typing import Any

import pytest

import schemathesis  # a dev extra, as CI installs it: never skipped
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.conftest import TESTDATA
from tests.helpers import create_case, pdf_bytes, upload

# A few examples per operation and mode keep the run short enough for every CI push; derandomized, so a
# failure reproduces on the next run.
EXAMPLES = settings(max_examples=5, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


@pytest.fixture
def api_schema(app, client, town):  # type: ignore[no-untyped-def]
    """The app with a little of everything in it, so small ids name a case, a document, a task."""
    h = town.auth("anna")
    case = create_case(client, h)
    assert upload(client, h, case["id"], pdf_bytes()).status_code == 201
    sample = TESTDATA / "xrechnung" / "01.01a-INVOICE_ubl.xml"
    intake = client.post("/api/v1/intake/invoice", headers=h, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(sample.read_bytes()), sample.name)})
    assert intake.status_code == 201, intake.get_json()
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def _run(operation: Any, mode: GenerationMode, headers: dict[str, str], failures: list[str]) -> int:
    calls = 0

    @EXAMPLES
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        nonlocal calls
        calls += 1
        try:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected: one run reports them all
            failures.append(f"{operation.label} [{mode.value}]: {case.as_curl_command()}\n    {exc}"[:2000])

    check()
    return calls


@pytest.mark.parametrize("caller", ["anna", "admin"])  # a clerk of the invoice unit, and an admin
def test_no_server_errors(api_schema, town, caller: str) -> None:  # type: ignore[no-untyped-def]
    failures: list[str] = []
    operations = calls = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()  # an operation the schema cannot describe fails the test right here
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            calls += _run(operation, mode, town.auth(caller), failures)
    assert operations >= 25 and calls >= operations * 2
    assert not failures, f"{len(failures)} server error(s):\n" + "\n".join(failures)
