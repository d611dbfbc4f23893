# Two entry points for a fresh machine; each creates .venv and installs on first use.
#   make demo   - the main job on the bundled default
#   make test   - the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-thorough bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[ssm,verify,dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/mor demo

test: $(STAMP)
	$(PY) -m pytest -q

test-thorough: $(STAMP)
	MOR_HYPOTHESIS_PROFILE=thorough $(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) reports
