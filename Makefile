# brian2cppyy — `make run` (demo) and `make test` (our tests + Brian2's suite)
# on a fresh machine. Both create .venv with Python 3.13 first.

# The first Python 3.13 that runs: $PYTHON, python3.13 on PATH, or pyenv's.
PYTHON ?= $(shell for p in python3.13 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 2>/dev/null) /usr/local/bin/python3.13 /usr/bin/python3.13; do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 13)' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: run test test-ours test-brian2 test-long bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.13 not found: install it or set PYTHON=/path/to/python3.13"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,plot]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) examples/demo.py

test: test-ours test-brian2

test-ours: $(STAMP)
	$(PY) -m pytest tests -n $(JOBS) -q

test-brian2: $(STAMP)
	$(PY) tests/run_brian2_suite.py

test-long: $(STAMP)
	$(PY) tests/run_brian2_suite.py --long

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) build src/*.egg-info examples/output
