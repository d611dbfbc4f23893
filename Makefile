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

# One BLAS thread per process: SLICOT and LAPACK calls slow down by orders of magnitude
# when OpenBLAS threads compete with XLA's on 2 cores.
TEST_ENV := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

test: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -q

test-thorough: $(STAMP)
	$(TEST_ENV) MOR_HYPOTHESIS_PROFILE=thorough $(PY) -m pytest -q

BENCHES := bench_hinf bench_selection bench_certify bench_sweep bench_inference

bench: $(STAMP)
	for b in $(BENCHES); do echo "== $$b"; $(PY) benchmarks/$$b.py || exit 1; done

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) reports
