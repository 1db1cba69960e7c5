"""The distribution's version, in one place (pyproject reads it; so do the CLI and `verify`).

Kept out of the package's `__init__.py`, which runs in Canvas's sandbox, where an
assignment to `__version__` is refused; the plugin manifest's `plugin_version` must match
(a test checks).
"""

VERSION = "0.2.0"
