"""Run the whole path on this machine: real plugin runner, local FHIR, reference receiver."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: the demo makes its own secrets, keys, servers and runner."""


def run(args: argparse.Namespace) -> int:
    # Imported here: the demo needs the canvas package, which receivers do not install.
    try:
        from ..localrun.demo import main
    except ImportError as error:
        print("enriched-webhook demo needs the canvas package (pip install canvas): " + str(error))
        return 2
    return main()
