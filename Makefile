# Two commands on a fresh machine (python3 >= 3.11 with pip, git, make):
#   make demo   the main job: every fixture Task through the real Canvas plugin runner
#   make test   lint, types and the whole test suite
# Both bootstrap .venv first; nothing else needs installing by hand.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m devtools demo

lint: $(STAMP)
	$(VENV)/bin/ruff check enriched_webhook devtools tests bench examples
	$(VENV)/bin/ruff format --check enriched_webhook devtools tests bench examples
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest -p no:cacheprovider

# Receiver and plugin benchmarks; prints tables (see docs/benchmarks.md). It starts plugin
# runners on 127.0.0.1:50051: beside a running test suite, wrap it in `unshare -n` (README).
bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) build dist *.egg-info
