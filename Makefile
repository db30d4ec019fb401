# Two commands on a fresh machine with only Python and make:
#   make demo   creates .venv, installs galton (+ Ray), runs the main job on bundled data and the
#               default crowd-vs-expert study (report in out/bench/index.html)
#   make test   creates .venv, installs the test extra and runs the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.demo: pyproject.toml | $(BIN)/python
	$(PIP) install -e ".[ray,pandas,report]"
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(PIP) install -e ".[test]"
	touch $@ $(VENV)/.demo

demo: $(VENV)/.demo
	$(BIN)/python -m galton.demo --out out/demo
	$(BIN)/python -m galton bench --out out/bench

# One process per core, at most 4, each test file whole in one of them (its module fixtures start
# once); `make test PYTEST_ARGS=` runs the suite in one process.
PYTEST_ARGS ?= -n auto --maxprocesses=4 --dist loadfile

test: $(VENV)/.test
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(VENV)/.test
	$(BIN)/python -m galton.benchmarks.accuracy
	$(BIN)/python -m galton.benchmarks.speed

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
