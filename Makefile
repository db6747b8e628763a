# Two commands do everything on a fresh clone:
#   make serve   set up, then run the endpoint over the bundled sample data (embedded store)
#   make test    set up, then lint (ruff), type-check (mypy) and run the whole test suite
# Setting up installs only what changed since the last time (stamp files in .venv and
# node_modules record what was installed from which pyproject.toml and package-lock.json).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ASSETS := webapp/static/yasgui/yasgui.min.js

.PHONY: serve test setup setup-test typecheck

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --editable .
	touch $@

$(VENV)/installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --editable '.[test]'
	touch $@ $(VENV)/installed

node_modules/installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

$(ASSETS): node_modules/installed $(VENV)/installed
	$(BIN)/python -m policykg.webapp.assets
	touch $@

setup: $(VENV)/installed $(ASSETS)

setup-test: $(VENV)/installed-test $(ASSETS)

serve: setup
	$(BIN)/policykg serve

# The folders are the parts of one import package (pyproject.toml, package-dir): mypy reads
# them through links that spell the package out (.typecheck/policykg/graph -> graph/...).
TYPECHECK := .typecheck
define run-typecheck
mkdir -p $(TYPECHECK)/policykg
for d in graph webapp ontology shapes sparql; do ln -sfn ../../$$d $(TYPECHECK)/policykg/$$d; done
cd $(TYPECHECK) && MYPYPATH=. ../$(BIN)/mypy --config-file ../pyproject.toml -p policykg.graph -p policykg.webapp
endef

typecheck: setup-test
	$(run-typecheck)

test: setup-test
	$(BIN)/ruff check .
	$(run-typecheck)
	$(BIN)/pytest
