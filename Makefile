PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NPM    ?= npm

# Exactly what was tested, hashes checked: the service alone (what a deployment installs),
# and the service with the tests, linters, type checker and benchmark tools (what make run and
# make test install). Both are made from pyproject.toml by pip-tools (`make lock`).
LOCK     := requirements.lock
DEV_LOCK := requirements-dev.lock
PIP_TOOLS := pip-tools==7.6.2
COMPILE   := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
             --all-build-deps --no-emit-index-url
# The tests that hold each shortcut around a library to the library itself.
DIFFERENTIAL := tests/gateway/schema/compiled tests/gateway/input tests/providers/test_direct.py \
                tests/gateway/http/test_edge.py

# The playground's front-end: npm ci from the committed lock file, then an esbuild bundle into
# gateway/playground/assets/. Each step reruns only when its inputs changed.
PG_DEPS  := playground/node_modules/.package-lock.json
PG_BUILT := gateway/playground/assets/playground.js
PG_SRC   := playground/build.mjs $(wildcard playground/src/*)

.PHONY: run test lint typecheck check schema clean playground bench soak lock upgrade

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the lock or the project's metadata changes, so `make test` twice is quick.
# --no-deps: the lock lists every package; the project itself is built with the locked
# setuptools (--no-build-isolation), so nothing unpinned is fetched.
$(STAMP): $(DEV_LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(PG_DEPS): playground/package.json playground/package-lock.json
	cd playground && $(NPM) ci --no-audit --no-fund
	touch $@

$(PG_BUILT): $(PG_DEPS) $(PG_SRC)
	cd playground && node build.mjs

playground: $(PG_BUILT)

run: $(STAMP) $(PG_BUILT)
	$(BIN)/gateway serve

test: $(STAMP) $(PG_BUILT)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check gateway providers tests bench
	$(BIN)/ruff format --check gateway providers tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# What CI runs: lint, format, types (tests included), then the whole suite.
check: lint typecheck test

schema: $(STAMP)
	$(BIN)/gateway export-schema > schema.graphql

# Refresh both locks from pyproject.toml, keeping every pin that still fits it.
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(PIP_TOOLS)
	$(COMPILE) -o $(LOCK) pyproject.toml
	$(COMPILE) --all-extras -o $(DEV_LOCK) pyproject.toml

# Move every dependency to the newest release pyproject.toml allows, install it, and run the
# differential tests: a library whose internals a shortcut relies on must still agree with it.
upgrade: | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(PIP_TOOLS)
	$(COMPILE) --upgrade -o $(LOCK) pyproject.toml
	$(COMPILE) --upgrade --all-extras -o $(DEV_LOCK) pyproject.toml
	$(MAKE) $(STAMP)
	$(BIN)/python -m pytest $(DIFFERENTIAL)
	@echo "Locks refreshed; review 'git diff $(LOCK) $(DEV_LOCK)', then run make check."

# Loopback only; wrk comes from Debian's packages when missing. Sections 1-4 take a few
# minutes, section 6 (Heymarket imports at the real budget) about 13 more:
# `make bench BENCH_ARGS="--only 6"` runs it alone.
BENCH_ARGS ?=
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The sandbox gateway under 200 concurrent clients of mixed upserts (not in make test): statuses,
# __typenames, the simulators' 429s, latency, RSS. Loopback only; SOAK_SECONDS=60 for a short one.
SOAK_SECONDS ?= 300
soak: $(STAMP)
	$(BIN)/python -m bench.soak --seconds $(SOAK_SECONDS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache playground/node_modules gateway/playground/assets \
	       tests/clients/apollo/node_modules
