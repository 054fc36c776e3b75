# brian2cppyy — `make run` (demo) and `make test` (our tests + Brian2's suite)
# on a fresh machine. Both create .venv with Python 3.13 first.

# The first Python 3.13 that runs: $PYTHON, python3.13 on PATH, or pyenv's.
PYTHON ?= $(shell for p in python3.13 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 2>/dev/null) /usr/local/bin/python3.13 /usr/bin/python3.13; do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 13)' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: run test test-ours test-brian2 test-brian2-independent test-brian2-threads test-long bench venv clean gsl

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.13 not found: install it or set PYTHON=/path/to/python3.13"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,plot,sweep]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) examples/demo.py

test: gsl test-ours test-brian2 test-brian2-independent test-brian2-threads

# GSL's development files, for the GSL state updaters (method='gsl'): installed
# with apt-get (as root) unless pkg-config or the header finds them already.
gsl:
	@if pkg-config --exists gsl 2>/dev/null || test -f /usr/include/gsl/gsl_odeiv2.h; then \
		echo "GSL found"; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y libgsl-dev; \
	else \
		echo "GSL not found: install it as root (apt-get install libgsl-dev)"; exit 1; \
	fi

test-ours: $(STAMP) gsl
	BRIAN2CPPYY_REQUIRE_GSL=1 $(PY) -m pytest tests -n $(JOBS) --dist loadgroup -q

test-brian2: $(STAMP) gsl
	$(PY) tests/run_brian2_suite.py --gsl

# Brian2's codegen-independent tests (Network.run's scheduling, clocks, stop(),
# reports, store/restore, ...) with target cppyy: they specify the fused loop.
test-brian2-independent: $(STAMP) gsl
	$(PY) tests/run_brian2_suite.py --codegen-independent --gsl

# Brian2's network tests with 3 threads (more than the cores of a small machine),
# every loop that may be split split: they must pass as with one thread.
BRIAN2_NETWORK_TESTS := test_network or test_neurongroup or test_subgroup or test_synapses \
	or test_refractory or test_thresholder or test_monitor
test-brian2-threads: $(STAMP) gsl
	$(PY) tests/run_brian2_suite.py --cppyy-threads 3 -k "$(BRIAN2_NETWORK_TESTS)"

test-long: $(STAMP) gsl
	$(PY) tests/run_brian2_suite.py --long --gsl

bench: $(STAMP)
	$(PY) benchmarks/run.py
	$(PY) benchmarks/report.py --readme README.md
	$(PY) benchmarks/startup.py $(if $(BRIAN2_REPO),--brian2-repo $(BRIAN2_REPO))

clean:
	rm -rf $(VENV) build src/*.egg-info examples/output
