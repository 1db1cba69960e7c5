"""A deployable plugin-only copy for `canvas deploy`: `<ORG>__enriched_webhook/` in a folder
that is its own git repository (README, "Deploying to Canvas").

`canvas deploy` wants the manifest name and the package folder to be `<org prefix>__<name>`
and pushes the whole repository it is given, so the copy holds only the plugin's modules.
Imports inside the package are relative, so renaming the folder needs no code edits; only
the manifest's name and class paths are rewritten.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from .plugin_files import PACKAGE_NAME, copy_plugin, missing_parts

ORG_PREFIX = re.compile(r"[a-z][a-z0-9_]{0,39}")


class BundleError(ValueError):
    """The prefix or the output folder is not usable; the message says which."""


def bundle_name(prefix: str) -> str:
    if not ORG_PREFIX.fullmatch(prefix) or "__" in prefix:
        raise BundleError(
            "--prefix must be lowercase letters, digits and single underscores,"
            " starting with a letter"
        )
    return f"{prefix}__{PACKAGE_NAME}"


def rewrite_manifest(manifest_path: Path, name: str) -> None:
    manifest = json.loads(manifest_path.read_text())
    manifest["name"] = name
    if "custom_data" in manifest:
        # The outbox's namespace is the organisation's own: `<org>__enriched_webhook`.
        manifest["custom_data"]["namespace"] = name
    components = manifest.get("components", {})
    for component in components.get("handlers", []) + components.get("applications", []):
        module, _, cls = component["class"].partition(":")
        if module.split(".")[0] != PACKAGE_NAME:
            raise BundleError(f"a handler outside the package: {component['class']}")
        rest = module[len(PACKAGE_NAME) :]
        component["class"] = f"{name}{rest}:{cls}"
    manifest_path.write_text(f"{json.dumps(manifest, indent=2)}\n")


def write_bundle(prefix: str, out: Path) -> Path:
    """Write `out/<prefix>__enriched_webhook/` and make `out` a git repository with one commit."""
    name = bundle_name(prefix)
    if missing_parts():
        raise BundleError(
            "the plugin's files are not installed with the wheel: run bundle from a checkout "
            "of the enriched-webhook repository"
        )
    if out.exists() and any(out.iterdir()):
        raise BundleError(f"output folder is not empty: {out}")
    out.mkdir(parents=True, exist_ok=True)
    package = copy_plugin(out, name)
    rewrite_manifest(package / "CANVAS_MANIFEST.json", name)
    (out / ".gitignore").write_text("SECRETS.json\n**/SECRETS.json\n__pycache__/\n*.pem\n*.key\n")
    git = [
        "git",
        "-C",
        str(out),
        "-c",
        "user.name=enriched-webhook",
        "-c",
        "user.email=bundle@localhost",
    ]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", f"Plugin bundle {name}"], check=True)
    return package
