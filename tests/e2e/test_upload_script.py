"""upload.js in a real browser under the app's own CSP: files chosen in the upload form go up one request each,
the refused one is named, the good one is listed after the reload — and no script or style is blocked."""
from __future__ import annotations

from typing import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import LiveServer

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"\x80\x00\x00\x00" + \
      b"\x00" * 64 + b"PE\x00\x00L\x01\x03\x00" + b"\x00" * 200


@pytest.fixture
def strict_page(browser: Browser, live_server: LiveServer) -> Iterator[tuple[Page, list[str]]]:
    """A page with the app's CSP in force; collects CSP violations and script errors from the console."""
    context = browser.new_context(base_url=live_server.url, locale="de-DE")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    try:
        yield page, problems
    finally:
        context.close()


def test_upload_two_files_with_the_script(strict_page, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    page, problems = strict_page
    anna = live_server.logins["anna"]
    created = page.request.post("/api/v1/cases", headers={"Authorization": f"Bearer {anna.token}"},
                                data={"file_plan_code": "20.30", "title": "Upload per Skript", "unit": "20"})
    assert created.status == 201
    case_id = created.json()["id"]
    page.goto("/login")
    page.fill("#username", "anna")
    page.fill("#password", anna.password)
    page.click("main button[type=submit]")
    page.goto(f"/cases/{case_id}")
    assert page.locator("[data-dropzone]").is_visible()  # the script revealed the drop zone
    page.set_input_files("form[data-upload] input[name=file]", [
        {"name": "notiz.txt", "mimeType": "text/plain", "buffer": "Vermerk zur Akte".encode()},
        {"name": "x.exe", "mimeType": "application/octet-stream", "buffer": EXE}])
    with page.expect_navigation():  # the script reloads the page when both uploads are done
        page.click("form[data-upload] button[type=submit]")
    body = page.locator("main").inner_text()
    assert "Die Datei notiz.txt wurde gespeichert." in body
    assert "Die Datei x.exe wurde nicht angenommen" in body
    assert page.locator("a", has_text="notiz.txt").count() >= 1
    assert [p for p in problems if "Content Security Policy" in p or "Refused" in p] == []
