"""Writes the README's screenshots (docs/screenshots/inbox.png, task.png, search.png, admin-users.png) by running
the invoice, auditor and admin journeys of the browser tests against a fresh demo, with Debian's /usr/bin/chromium.

    python scripts/screenshots.py [--out docs/screenshots]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    env = {**os.environ, "EAKTE_SCREENSHOTS": str(Path(args.out).resolve()), "EAKTE_REQUIRE_BROWSER": "1"}
    return subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "tests/e2e/test_invoice_journey.py", "tests/e2e/test_auditor_and_admin_journeys.py"],
                           cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
