PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NPM    ?= npm

# The playground's front-end: npm ci from the committed lock file, then an esbuild bundle into
# gateway/playground/assets/. Each step reruns only when its inputs changed.
PG_DEPS  := playground/node_modules/.package-lock.json
PG_BUILT := gateway/playground/assets/playground.js
PG_SRC   := playground/build.mjs $(wildcard playground/src/*)

.PHONY: run test lint typecheck check schema clean playground bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the project's metadata changes, so `make test` twice is quick.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
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
	$(BIN)/ruff check gateway providers tests
	$(BIN)/ruff format --check gateway providers tests

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

schema: $(STAMP)
	$(BIN)/gateway export-schema > schema.graphql

# Loopback only, a few minutes; wrk comes from Debian's packages when missing.
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache playground/node_modules gateway/playground/assets
