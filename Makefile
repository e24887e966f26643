# Common tasks. `make` alone lists them.
VENV ?= .venv
BIN = $(VENV)/bin
PG ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: help install demo test test-pg fuzz shots lint bench ci

help: ## list the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## create .venv and install the gateway with its test tools
	python3 -m venv $(VENV) && $(BIN)/pip install -q -e '.[test]'

demo: install ## serve the demo on http://127.0.0.1:8000
	$(BIN)/gateway serve --demo

test: install ## run the test suite on SQLite
	$(BIN)/pytest

test-pg: install ## run the test suite on PostgreSQL ($$PG)
	GATEWAY_TEST_DATABASE_URL=$(PG) $(BIN)/pytest

fuzz: install ## schemathesis over every operation, deeper (200 examples, a new seed)
	GATEWAY_FUZZ_EXAMPLES=$${GATEWAY_FUZZ_EXAMPLES:-200} $(BIN)/pytest tests/contract -s

shots: install ## the browser tests, keeping screenshots of every page in $(SHOTS) (default /tmp/shots)
	GATEWAY_TEST_SHOTS=$${SHOTS:-/tmp/shots} $(BIN)/pytest tests/browser

lint: install ## ruff (lint, format) and mypy
	$(BIN)/ruff check gateway consent tests benchmarks
	$(BIN)/ruff format --check gateway consent tests benchmarks
	$(BIN)/mypy

bench: install ## run the benchmarks (see benchmarks/README.md)
	$(BIN)/python -m benchmarks.run

ci: ## what CI runs
	bash .ci/run
