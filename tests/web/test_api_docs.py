"""/api/v1/docs (issue 10, point 6): Swagger UI from vendored files under /static, under the same CSP as every
page (no inline script or style, nothing from another host). The browser check is tests/e2e/test_api_docs.py."""
from __future__ import annotations

import re
from pathlib import Path

import eakte.web
from eakte.web.security import CSP

STATIC = Path(eakte.web.__file__).parent / "static"


def test_docs_page_loads_only_files_of_this_server(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/v1/docs")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert resp.headers["Content-Security-Policy"] == CSP  # no exception for the docs page
    assert not re.search(r"https?://", html), re.findall(r"https?://[^\s\"']+", html)
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in refs
    assert "/static/vendor/swagger-ui/swagger-ui.css" in refs
    for ref in refs:
        assert ref.startswith(("/static/", "/api/v1/openapi.json", "data:")), ref
        if ref.startswith("/static/"):
            assert (STATIC / ref.removeprefix("/static/")).is_file(), ref
            assert client.get(ref).status_code == 200
    # Nothing inline the policy would block: scripts only by src, no <style>, no style="".
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html and " style=" not in html and "onload" not in html


def test_docs_start_script_does_not_call_out() -> None:
    # Swagger UI's default validatorUrl would send the spec to validator.swagger.io.
    script = (STATIC / "api-docs.js").read_text(encoding="utf-8")
    assert "validatorUrl: null" in script and "http" not in script


def test_footer_links_the_api_docs(web) -> None:  # type: ignore[no-untyped-def]
    assert 'href="/api/v1/docs"' in web.get("/login").get_data(as_text=True)
