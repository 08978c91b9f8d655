# Quick start: `make run` opens the app on the bundled sample; `make test` runs the whole suite.
PYTHON ?= $(shell for p in python3.12 python3.11 python3.10 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3,10) <= sys.version_info[:2] <= (3,12))' && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
BUNDLE_STAMP := $(VENV)/.installed-bundle

.PHONY: run test test-fast lint sample benchmark screenshots bundle clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: Python 3.10-3.12 is needed"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	@touch $@

$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

$(BUNDLE_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[bundle]'
	@touch $@

run: $(STAMP)
	$(PY) -m workbench

lint: $(TEST_STAMP)
	$(PY) -m ruff check workbench tests tools resources plugins examples installers
	$(PY) -m ruff format --check workbench tests tools resources plugins examples installers
	$(PY) -m mypy
	$(VENV)/bin/lint-imports --no-cache

test: lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q tests --ignore=tests/benchmarks

# Everything that does not start TensorFlow, in well under a minute; a test that imports it
# unmarked fails here (tests/fast_guard), so the split stays honest.
test-fast: $(TEST_STAMP)
	QT_QPA_PLATFORM=offscreen PYTHONPATH=tests/fast_guard $(PY) -m pytest -q -m "not slow" tests --ignore=tests/benchmarks

benchmark: $(TEST_STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -s tests/benchmarks

# The README's screenshots, from the running app on a virtual display (needs xvfb-run).
screenshots: $(STAMP)
	TINYML_WORKBENCH_HOME=$$(mktemp -d) xvfb-run -a -s "-screen 0 1400x900x24" $(PY) tools/screenshots.py docs

# The full and lite bundles for this system (PyInstaller), their .tar.gz and .deb on Linux, each
# smoke-tested (installers/smoke.sh), in build/bundle/; a table of sizes and start times at the end.
bundle: $(BUNDLE_STAMP)
	$(PY) installers/build_bundle.py --out build/bundle

sample: $(TEST_STAMP)
	$(PY) resources/samples/train_digits.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build
