# mediation: `make run` serves the app with demo data, `make test` runs every check.
# Both work from nothing on Debian 12 with Python 3.11 (as root, missing system packages are
# installed first). See README.md.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Browser assets (htmx, axe-core) from npm, pinned by package-lock.json, served by the app.
ASSETS := node_modules/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
PG_HOST ?= 127.0.0.1
PG_PORT ?= 5432
PYTEST_ARGS ?= -n auto
MSG ?=

# WeasyPrint (pango, harfbuzz subsetting), Chinese fonts, PDF read-back, browser tests (Debian's
# chromium, driven by Playwright's Python package), diagrams; and npm for the browser assets
# (Debian's npm package, unless an npm is there already: NodeSource's nodejs bundles its own).
# CJK Extension A–G (rare characters of names and addresses): BabelStone Han, HanaMin A/B.
APT_PACKAGES := fonts-noto-cjk fonts-babelstone-han fonts-hanazono libharfbuzz-subset0 \
	libpango-1.0-0 libpangoft2-1.0-0 \
	poppler-utils chromium graphviz postgresql-client

PG_PROBE := $(BIN)/python -c "import psycopg; psycopg.connect(host='$(PG_HOST)', \
	port=$(PG_PORT), user='postgres', dbname='postgres', connect_timeout=2).close()"

.PHONY: help system venv assets run test test-long lint bench bench-quick bench-deps migration \
	translations screenshots clean distclean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

system: ## install missing Debian packages (as root; otherwise says what is missing)
	@if ! command -v dpkg-query >/dev/null; then \
		echo "system: not a Debian system; install by hand: $(APT_PACKAGES)"; exit 0; fi; \
	missing=""; \
	for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	if ! command -v $(PYTHON) >/dev/null || ! $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null; \
		then missing="$$missing python3 python3-venv"; fi; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	missing="$${missing# }"; \
	if [ -z "$$missing" ]; then echo "system: all packages present"; \
	elif [ "$$(id -u)" != 0 ]; then \
		echo "system: missing $$missing; not root, skipping (run 'sudo make system')"; \
	else \
		echo "system: installing $$missing"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi

venv: $(STAMP) ## make .venv and install the project with its dev tools (editable)

$(STAMP): pyproject.toml setup.py | system
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

assets: $(ASSETS) ## install the browser assets (htmx, axe-core) from package-lock.json

$(ASSETS): package.json package-lock.json | system
	npm ci --no-audit --no-fund --ignore-scripts
	@touch $@

run: system venv assets ## migrate, load demo data into an empty database, serve on :5000
	$(BIN)/mediation db upgrade
	@if $(BIN)/mediation db has-cases; then echo "run: the database has cases; no demo data"; \
	else $(BIN)/mediation demo; fi
	$(BIN)/mediation serve --host $(HOST) --port $(PORT)

lint: venv ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/mypy

test: system venv assets lint ## lint, then pytest on SQLite (and PostgreSQL when it answers)
	@if [ -n "$${MEDIATION_TEST_DATABASES:-}" ]; then dbs="$$MEDIATION_TEST_DATABASES"; \
	elif $(PG_PROBE) 2>/dev/null; then dbs=sqlite,postgresql; \
	else dbs=sqlite; echo "test: PostgreSQL is not answering on $(PG_HOST):$(PG_PORT)"; fi; \
	echo "test: MEDIATION_TEST_DATABASES=$$dbs"; \
	MEDIATION_TEST_DATABASES=$$dbs $(BIN)/python -m pytest $(PYTEST_ARGS)

test-long: system venv ## the long variants of the tests (@pytest.mark.long), on every database
	@if [ -n "$${MEDIATION_TEST_DATABASES:-}" ]; then dbs="$$MEDIATION_TEST_DATABASES"; \
	elif $(PG_PROBE) 2>/dev/null; then dbs=sqlite,postgresql; else dbs=sqlite; fi; \
	MEDIATION_TEST_DATABASES=$$dbs $(BIN)/python -m pytest $(PYTEST_ARGS) -m long

screenshots: system venv assets ## the browser tests, saving every page at phone and desk size in docs/screenshots/
	rm -rf docs/screenshots
	MEDIATION_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -p no:cacheprovider -q tests/browser

# The benchmarks' own tools: SpiffWorkflow (the P2 peer) and profilers from PyPI, wrk from Debian.
BENCH_STAMP := $(VENV)/.bench-installed
BENCH_APT := wrk

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@if ! command -v wrk >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BENCH_APT) >/dev/null; \
		else echo "bench: wrk is missing (sudo apt-get install wrk); a Python load generator stands in"; fi; \
	fi
	@touch $@

bench-deps: $(BENCH_STAMP) ## install what the benchmarks need (SpiffWorkflow, profilers, wrk)

bench: venv $(BENCH_STAMP) ## every figure at full size (about 45 minutes; see bench/README.md)
	$(BIN)/python bench/run.py

bench-quick: venv $(BENCH_STAMP) ## every figure on small data (under two minutes)
	$(BIN)/python bench/run.py --quick

migration: venv ## regenerate versions/0001_initial.py from the models; MSG="..." adds a revision
	$(BIN)/python -m mediation.migrations $(if $(MSG),--message "$(MSG)")

translations: venv ## add the texts of the code and templates to the English catalogue
	$(BIN)/pybabel extract -F mediation/translations/babel.cfg -k msg -k N_ -k lazy_gettext --ignore-dirs ".*" --no-location --no-wrap \
		--sort-output --omit-header -o $(VENV)/messages.pot . >/dev/null
	$(BIN)/pybabel update -i $(VENV)/messages.pot -d mediation/translations -l en \
		--no-fuzzy-matching --ignore-obsolete --no-wrap --ignore-pot-creation-date
	@echo "translations: fill in the empty msgstr of mediation/translations/en/LC_MESSAGES/messages.po"

clean: ## remove build output and caches (keeps .venv and instance/)
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf

distclean: clean ## also remove .venv and node_modules (instance/ with its data stays)
	rm -rf $(VENV) node_modules
