"""Browser tests: the demo municipality served by waitress over real HTTP, driven by the distribution's Chromium
through Playwright, with axe-core checking accessibility (WCAG 2.1 A/AA).

Playwright never downloads a browser here: it launches /usr/bin/chromium. Without it the tests skip, or fail
where CI demands a browser (EAKTE_REQUIRE_BROWSER=1)."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

from eakte.bootstrap import build_runtime
from eakte.config import JobsSettings, Settings
from eakte.runtime import Runtime
from tests.e2e.a11y import assert_accessible, axe_violations  # noqa: F401 - the helpers, importable from here too

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER_ENV = "EAKTE_REQUIRE_BROWSER"


@dataclass(frozen=True)
class LiveServer:
    url: str  # base URL without trailing slash, e.g. http://127.0.0.1:41234
    rt: Runtime
    logins: dict[str, Any]  # demo user name -> eakte.demo.Login (password, roles, API token)


def e2e_settings(data_dir: Path) -> Settings:
    """The embedded default (SQLite, local blobs, Whoosh) in a fresh directory; jobs run inline ("immediate"), so
    an upload is extracted and indexed before its request returns and a test need not wait for a consumer."""
    return Settings(data_dir=data_dir, jobs=JobsSettings(backend="immediate"))


def _seeded_runtime(data_dir: Path) -> tuple[Runtime, dict[str, Any]]:
    """As `eakte demo` builds it: demo settings before the case types load, then migrate, then seed."""
    from eakte.demo import demo_settings, seed_demo
    rt = build_runtime(e2e_settings(data_dir))
    rt.settings = demo_settings(rt.settings)
    rt.settings.data_dir.mkdir(parents=True, exist_ok=True)
    rt.db.upgrade()
    logins = {login.username: login for login in seed_demo(rt)}
    return rt, logins


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from waitress import create_server
    from waitress import wasyncore

    from eakte.app import create_app

    rt, logins = _seeded_runtime(tmp_path_factory.mktemp("e2e") / "data")
    app = create_app(rt)
    server = create_server(app, host="127.0.0.1", port=0, threads=rt.settings.server.threads,
                           max_request_body_size=rt.settings.ingest.max_size_mb * 1024 * 1024 * 2)
    thread = threading.Thread(target=_serve_until_closed, args=(server,), name="e2e-waitress", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.effective_port}", rt, logins)  # type: ignore[union-attr]
    finally:
        # waitress has no stop(): finish the worker threads, then empty the socket map so its loop ends.
        server.task_dispatcher.shutdown()
        wasyncore.close_all(server._map)  # type: ignore[union-attr]
        thread.join(timeout=10)
        rt.close()


def _serve_until_closed(server: Any) -> None:
    try:
        server.run()
    except (OSError, ValueError):  # the sockets were closed under the loop by the fixture's teardown
        pass


def _browser_or_skip() -> None:
    if CHROMIUM.is_file():
        return
    reason = f"{CHROMIUM} not found (apt-get install chromium); browser tests skipped"
    if os.environ.get(REQUIRE_BROWSER_ENV) == "1":
        pytest.fail(f"{reason}, but {REQUIRE_BROWSER_ENV}=1 is set", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    _browser_or_skip()
    from playwright.sync_api import sync_playwright
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture(params=["de-DE"])
def locale(request: pytest.FixtureRequest) -> str:
    """The browser's locale (Accept-Language); a test or module may parametrize it, e.g.
    `@pytest.mark.parametrize("locale", ["de-DE", "en-US"], indirect=True)`."""
    return str(request.param)


@pytest.fixture
def page(browser: Browser, live_server: LiveServer, locale: str) -> Iterator[Page]:
    """A fresh context (no cookies) per test. bypass_csp: the app's CSP forbids injected scripts, and axe has to
    be injected; the CSP itself is the app's to test, with a context of one's own (`new_context(...)`)."""
    context = browser.new_context(base_url=live_server.url, locale=locale, bypass_csp=True)
    try:
        yield context.new_page()
    finally:
        context.close()
