# Two commands do everything on a fresh clone:
#   make serve   set up, then run the endpoint over the bundled sample data (embedded store)
#   make test    set up, then run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test setup setup-test

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

test: setup-test
	$(BIN)/ruff check .
	$(BIN)/pytest
