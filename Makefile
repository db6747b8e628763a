# Two commands do everything on a fresh clone:
#   make serve   set up, then run the endpoint over the bundled sample data (embedded store)
#   make test    set up, then lint (ruff), type-check (mypy) and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test setup setup-test typecheck

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

setup: $(BIN)/python
	$(BIN)/pip install --quiet --editable .
	npm ci --no-audit --no-fund --silent
	$(BIN)/python -m policykg.webapp.assets

setup-test: $(BIN)/python
	$(BIN)/pip install --quiet --editable '.[test]'
	npm ci --no-audit --no-fund --silent
	$(BIN)/python -m policykg.webapp.assets

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
