"""A `settings` module for `canvas run-plugin` that moves its SQLite file into the run's folder.

`canvas run-plugin` keeps its database (the outbox's custom data, the data module's
tables) in one file beside the installed `settings.py`, shared by every run from that
environment. Tests and the demo each need their own, and a restart test needs to keep
one across two runners. This file is copied into a folder placed first on the runner's
PYTHONPATH as `settings.py`: it executes Canvas's real settings, then points the SQLite
paths at `ENRICHED_WEBHOOK_RUNNER_DB`. Nothing else changes: the runner, its sandbox and
Django are Canvas's own.
"""

from __future__ import annotations

import importlib.util
import os
import sysconfig
from pathlib import Path

_real_path = Path(sysconfig.get_paths()["purelib"]) / "settings.py"
_spec = importlib.util.spec_from_file_location("canvas_real_settings", _real_path)
assert _spec is not None and _spec.loader is not None
_real = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_real)
globals().update({name: value for name, value in vars(_real).items() if name.isupper()})

SQLITE_DB_PATH = Path(os.environ["ENRICHED_WEBHOOK_RUNNER_DB"])
SQLITE_WRITE_MODE_DATABASE = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(SQLITE_DB_PATH)}
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": f"file:{SQLITE_DB_PATH}?mode=ro",
        "OPTIONS": {"uri": True},
    }
}
