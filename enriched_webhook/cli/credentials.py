"""Where the receiving commands (`receive`, `verify`) get secrets and keys from.

One place reads `$WEBHOOK_SECRET` and JWKS files, so both commands accept the same forms
and refuse the same mistakes. Secrets on the command line are visible to other local
users in the process list; the environment variable keeps them out of it. Messages name
the option, never a value.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..receiver.errors import VerifierConfigError

SECRET_ENV = "WEBHOOK_SECRET"  # noqa: S105 - a variable name, not a secret


def hmac_secrets(given: list[str], *, from_env: bool = True) -> list[str]:
    """The `whsec_` secrets of repeated or space-separated options, else `$WEBHOOK_SECRET`."""
    secrets = [part for value in given for part in value.split()]
    if not secrets and from_env:
        secrets = os.environ.get(SECRET_ENV, "").split()
    return secrets


def load_jwks(path: str | Path) -> dict[str, Any]:
    """The JWKS document in a file; VerifierConfigError if unreadable or not an object."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        raise VerifierConfigError(f"cannot read --jwks as JSON ({type(error).__name__})") from None
    if not isinstance(document, dict):
        raise VerifierConfigError("--jwks is not a JSON object")
    return document


def secret_from_env(name: str) -> str:
    """The value of the variable `name`, for options that take a variable's name."""
    value = os.environ.get(name, "")
    if not value:
        raise VerifierConfigError(f"${name} is empty")
    return value
