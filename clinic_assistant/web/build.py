"""Install the widget's pinned front-end packages and copy what the page serves.

``python -m clinic_assistant.web.build`` (run by ``make setup``) runs ``npm ci`` in
web/ when node_modules does not match web/package-lock.json, then copies the
socket.io browser client into web/vendor/ (gitignored) with a versions.json, so the
page never loads anything from a CDN. axe-core stays in node_modules: only the
browser tests inject it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

from clinic_assistant.settings import PROJECT_ROOT

WEB_ROOT = PROJECT_ROOT / "web"
#: Files copied from node_modules/<package>/ to vendor/, per package.
VENDOR_FILES: Dict[str, tuple[str, ...]] = {
    "socket.io-client": ("dist/socket.io.min.js", "dist/socket.io.min.js.map"),
    # The staff console's (clinic_assistant/console): live updates and charts.
    "htmx.org": ("dist/htmx.min.js",),
    "chart.js": ("dist/chart.umd.min.js", "dist/chart.umd.min.js.map"),
}
NPM_TIMEOUT_S = 300


class BuildError(RuntimeError):
    """The front-end assets cannot be installed or are missing; says what to run."""


def pinned_versions(web_root: Path = WEB_ROOT) -> Dict[str, str]:
    """Package -> exact version, from package.json (dependencies and devDependencies)."""
    manifest = json.loads((web_root / "package.json").read_text("utf-8"))
    return {**manifest.get("dependencies", {}), **manifest.get("devDependencies", {})}


def installed_version(package: str, web_root: Path = WEB_ROOT) -> str | None:
    """The version of ``package`` in node_modules, or None."""
    try:
        meta = json.loads((web_root / "node_modules" / package / "package.json").read_text("utf-8"))
    except FileNotFoundError:
        return None
    return str(meta.get("version"))


def node_modules_current(web_root: Path = WEB_ROOT) -> bool:
    """True when every pinned package is installed at its pinned version."""
    return all(
        installed_version(package, web_root) == version
        for package, version in pinned_versions(web_root).items()
    )


def npm_ci(web_root: Path = WEB_ROOT) -> None:
    """``npm ci``: exactly the lock file's packages, verified by their integrity hashes."""
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("npm is missing: install Node.js 18 or newer (with npm) and run again.")
    try:
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=web_root,
            check=True,
            timeout=NPM_TIMEOUT_S,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        raise BuildError(f"`npm ci` in {web_root} failed: {error}") from error


def copy_vendor(web_root: Path = WEB_ROOT) -> Dict[str, str]:
    """Copy the browser builds into vendor/ and record their versions."""
    vendor = web_root / "vendor"
    vendor.mkdir(exist_ok=True)
    versions: Dict[str, str] = {}
    for package, files in VENDOR_FILES.items():
        version = installed_version(package, web_root)
        if version is None:
            raise BuildError(f"{package} is not installed in {web_root / 'node_modules'}")
        for name in files:
            shutil.copyfile(web_root / "node_modules" / package / name, vendor / Path(name).name)
        versions[package] = version
    (vendor / "versions.json").write_text(json.dumps(versions, indent=2) + "\n", "utf-8")
    return versions


def check_vendor(web_root: Path = WEB_ROOT) -> None:
    """Raise :class:`BuildError` unless vendor/ holds the pinned versions."""
    hint = "run `make setup` (or `python -m clinic_assistant.web.build`)"
    try:
        copied = json.loads((web_root / "vendor" / "versions.json").read_text("utf-8"))
    except (FileNotFoundError, ValueError) as error:
        raise BuildError(f"{web_root / 'vendor'} is missing or damaged: {hint}") from error
    pinned = pinned_versions(web_root)
    for package, files in VENDOR_FILES.items():
        if copied.get(package) != pinned.get(package):
            raise BuildError(
                f"web/vendor has {package} {copied.get(package)}, "
                f"package.json pins {pinned.get(package)}: {hint}"
            )
        for name in files:
            if not (web_root / "vendor" / Path(name).name).is_file():
                raise BuildError(f"web/vendor/{Path(name).name} is missing: {hint}")


def build(web_root: Path = WEB_ROOT) -> Dict[str, str]:
    """Install when needed, then copy; returns the copied versions."""
    if not node_modules_current(web_root):
        npm_ci(web_root)
    versions = copy_vendor(web_root)
    check_vendor(web_root)
    return versions


def main() -> int:
    """Command line entry: build, print what was copied, exit 1 with the reason on failure."""
    try:
        versions = build()
    except BuildError as error:
        print(f"web build: {error}", file=sys.stderr)
        return 1
    print("web/vendor: " + ", ".join(f"{p} {v}" for p, v in versions.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
