#!/usr/bin/env python3
"""Refresh the vendored front-end files from the npm registry, at the versions pinned below.

The web UI ships its CSS/JS from the package itself (no CDN: the CSP allows only 'self', and an installation may
have no internet). Run `python scripts/refresh_vendor.py` after changing a pin, review the diff, commit it.
Needs `npm` (only for `npm pack`, which downloads and verifies the tarball's integrity); stdlib otherwise.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC_VENDOR = ROOT / "eakte" / "web" / "static" / "vendor"
TEST_VENDOR = ROOT / "tests" / "e2e" / "vendor"

# The one place the versions are pinned. htmx stays on 2.x: 4.x is a different API.
VERSIONS = {
    "@kern-ux/native": "2.7.2",
    "htmx.org": "2.0.11",
    "axe-core": "4.14.1",
    "swagger-ui-dist": "5.35.0",
}


@dataclass(frozen=True)
class Package:
    name: str
    dest: Path
    files: dict[str, str]  # path inside the tarball's package/ -> path below dest


PACKAGES = [
    Package("@kern-ux/native", STATIC_VENDOR / "kern",
            # kern.min.css is the whole system (components, grid, utilities; kern-grid/-utilities are subsets); its
            # icons are inline SVG data: URIs. The fonts are a separate stylesheet whose relative url()s (woff2
            # only) are copied along with it, keeping the paths, so nothing needs rewriting.
            {"dist/kern.min.css": "kern.min.css", "dist/fonts/fira-sans.css": "fonts/fira-sans.css",
             "LICENSE.md": "LICENSE.md"}),
    Package("htmx.org", STATIC_VENDOR / "htmx", {"dist/htmx.min.js": "htmx.min.js", "LICENSE": "LICENSE"}),
    Package("axe-core", TEST_VENDOR / "axe", {"axe.min.js": "axe.min.js", "LICENSE": "LICENSE"}),
    # /api/v1/docs (eakte.web.api_docs); the standalone preset is what Swagger UI's top bar needs.
    Package("swagger-ui-dist", STATIC_VENDOR / "swagger-ui",
            {"swagger-ui-bundle.js": "swagger-ui-bundle.js",
             "swagger-ui-standalone-preset.js": "swagger-ui-standalone-preset.js",
             "swagger-ui.css": "swagger-ui.css", "LICENSE": "LICENSE", "NOTICE": "NOTICE",
             "swagger-ui-bundle.js.LICENSE.txt": "swagger-ui-bundle.js.LICENSE.txt"}),
]


class VendorError(Exception):
    """A tarball lacks a file we expect, or a stylesheet references one we did not copy."""


def npm_pack(name: str, version: str, workdir: Path) -> tuple[Path, dict[str, str]]:
    out = subprocess.run(["npm", "pack", f"{name}@{version}", "--json", "--silent"], cwd=workdir, check=True,
                         capture_output=True, text=True).stdout
    info = json.loads(out)[0]
    if info["version"] != version:
        raise VendorError(f"{name}: asked for {version}, npm packed {info['version']}")
    return workdir / info["filename"], {"integrity": info.get("integrity", ""), "shasum": info.get("shasum", "")}


def extract(pkg: Package, tarball: Path, workdir: Path) -> list[Path]:
    unpacked = workdir / "unpacked" / pkg.name.replace("/", "+")
    with tarfile.open(tarball) as tar:
        tar.extractall(unpacked, filter="data")
    root = unpacked / "package"
    if pkg.dest.exists():
        shutil.rmtree(pkg.dest)  # a file dropped upstream must not linger here
    copied = []
    for src, dst in pkg.files.items():
        if not (root / src).is_file():
            raise VendorError(f"{pkg.name}: {src} missing from the tarball")
        copied.append(_copy(root / src, pkg.dest / dst))
    for src, dst in pkg.files.items():
        if src.endswith(".css"):  # what a stylesheet loads, at the same place relative to it
            for ref in sorted(set(css_urls(root / src))):
                asset = (root / src).parent / ref
                if not asset.is_file():
                    raise VendorError(f"{pkg.name}: {src} references {ref}, missing from the tarball")
                copied.append(_copy(asset, (pkg.dest / dst).parent / ref))
    return copied


def css_urls(css: Path) -> list[str]:
    """The relative url()s of a stylesheet, without data: URIs, query or fragment."""
    refs = re.findall(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", css.read_text(encoding="utf-8"))
    return [r.split("?")[0].split("#")[0] for r in refs if not r.startswith("data:")]


def _copy(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


def check_css_urls(css_files: list[Path]) -> None:
    """Every url() a vendored stylesheet names must resolve to a vendored file, or the browser logs a 404."""
    for css in css_files:
        for ref in css_urls(css):
            if not (css.parent / ref).resolve().is_file():
                raise VendorError(f"{css.relative_to(ROOT)} references {ref}, which is not vendored")


def main() -> int:
    lines = ["# Vendored front-end packages; written by scripts/refresh_vendor.py, do not edit by hand.",
             "# package version integrity -> files"]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for pkg in PACKAGES:
            version = VERSIONS[pkg.name]
            tarball, meta = npm_pack(pkg.name, version, workdir)
            copied = extract(pkg, tarball, workdir)
            check_css_urls([p for p in copied if p.suffix == ".css"])
            lines.append(f"{pkg.name} {version} {meta['integrity']} -> {pkg.dest.relative_to(ROOT)}/")
            for path in copied:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                lines.append(f"    {path.relative_to(pkg.dest)} sha256:{digest}")
            print(f"{pkg.name}@{version}: {len(copied)} files -> {pkg.dest.relative_to(ROOT)}")
    (STATIC_VENDOR / "VERSIONS.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
