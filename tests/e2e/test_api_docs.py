"""/api/v1/docs in a real browser with the CSP enforced: Swagger UI from the vendored files lists the operations,
and no request leaves the server (issue 10, point 6)."""
from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import LiveServer


def test_api_docs_render_from_this_server_only(browser: Browser, live_server: LiveServer) -> None:
    # Not the `page` fixture: that one bypasses the CSP, and the point here is that the policy lets the page work.
    context = browser.new_context(base_url=live_server.url, locale="de-DE")
    try:
        page = context.new_page()
        requests: list[str] = []
        problems: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        response = page.goto("/api/v1/docs")
        assert response is not None and response.status == 200
        assert "script-src 'self'" in response.headers["content-security-policy"]
        expect(page.locator(".opblock").first).to_be_visible(timeout=15000)
        expect(page.locator(".opblock-summary-path", has_text="/api/v1/me").first).to_be_visible()
        assert page.locator(".opblock").count() > 10
        page.wait_for_load_state("networkidle")
        here = urlsplit(live_server.url).netloc
        foreign = [u for u in requests if not u.startswith("data:") and urlsplit(u).netloc != here]
        assert not foreign, f"requests left the server: {foreign}"
        assert any(u.endswith("/static/vendor/swagger-ui/swagger-ui-bundle.js") for u in requests)
        assert any(u.endswith("/api/v1/openapi.json") for u in requests)
        assert not problems, problems  # a CSP violation shows up as a console error
    finally:
        context.close()
