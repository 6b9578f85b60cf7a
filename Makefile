# Chartkeeper: `make serve` runs the app on the embedded SQLite default with demo data;
# `make test` runs the test suite. Both create .venv and install what they need.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DB ?= sqlite:///chartkeeper.db
DEMO_PATIENTS ?= 200
HOST ?= 127.0.0.1
PORT ?= 8080
PYTEST_ARGS ?=

.PHONY: serve test lint format bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

serve: $(BIN)/.installed
	$(BIN)/chartkeeper --db $(DB) init
	$(BIN)/chartkeeper --db $(DB) demo --if-empty --patients $(DEMO_PATIENTS)
	$(BIN)/chartkeeper --db $(DB) serve --host $(HOST) --port $(PORT)

test: $(BIN)/.installed
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(BIN)/.installed
	$(BIN)/ruff format src tests benchmarks tools
	$(BIN)/ruff check --fix src tests benchmarks tools

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
