"""Which files make up the plugin Canvas runs, and a copy of just those: the one owner.

`bundle` (for `canvas deploy`), the local runner harness and the `.canvasignore` test all
ask this module, so the three can never disagree. The copy leaves out receiver and tool
modules (which import fhir.resources, cryptography), so a run of the copy proves that the
plugin works without them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
PACKAGE_NAME = PACKAGE_DIR.name
# Everything else in the package is receiver or tool code (see .canvasignore).
PLUGIN_PARTS = (
    "CANVAS_MANIFEST.json",
    "README.md",
    "__init__.py",
    "handlers",
    "models",
    "plugin",
    "shared",
)


class PluginFilesMissingError(FileNotFoundError):
    """The plugin's own files are not beside this module: an installed wheel, not a checkout."""


def missing_parts() -> list[str]:
    """The plugin parts absent here (the wheel leaves out what needs canvas_sdk)."""
    return [part for part in PLUGIN_PARTS if not (PACKAGE_DIR / part).exists()]


def copy_plugin(destination_parent: Path, package_name: str = PACKAGE_NAME) -> Path:
    """Copy the plugin's files into `destination_parent/package_name`; return that folder."""
    missing = missing_parts()
    if missing:
        raise PluginFilesMissingError(
            f"the plugin's files ({', '.join(missing)}) are not installed with the wheel: "
            "run this from a checkout of the enriched-webhook repository"
        )
    target = destination_parent / package_name
    target.mkdir(parents=True, exist_ok=False)
    for part in PLUGIN_PARTS:
        source = PACKAGE_DIR / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / part)
    return target
