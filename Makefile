# Everything runs from a project-local virtual environment that `make` builds itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
#: Ports of `make run` (127.0.0.1): e.g. `make run WEB_PORT=8001 PREFECT_PORT=4201`.
WEB_PORT ?= $(or $(WORKFLOW_WEB_PORT),8000)
PREFECT_PORT ?= 4200

.PHONY: run simulate test lint unit docs schema bench bench-quick clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

## run: start the local Prefect server and the web app, play the demo cases (once per
## store), serve the flows (Ctrl-C stops); ports: make run WEB_PORT=8001 PREFECT_PORT=4201
run: $(STAMP)
	$(BIN)/workflow validate --store definitions/*.yaml
	$(BIN)/workflow up --demo --port $(PREFECT_PORT) --web-port $(WEB_PORT)

## simulate: simulate every shipped definition with its sample script (no database, no Prefect)
simulate: $(STAMP)
	$(BIN)/workflow validate definitions/*.yaml
	@for script in definitions/examples/*.yaml; do \
		id=$$(basename $$script .yaml); \
		echo ""; echo "=== $$id ($$script) ==="; \
		$(BIN)/workflow simulate $$id $$script || exit 1; \
	done

## lint: ruff (lint + format check), mypy --strict, import-linter contracts
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

## test: lint, then the whole test suite, a file's tests together in one of TEST_WORKERS
## processes (pytest-xdist; one per core by default): make test TEST_WORKERS=0 runs it in one
TEST_WORKERS ?= auto
test: lint
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=25

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

## docs / schema: regenerate the generated reference and JSON Schema
docs schema: $(STAMP)
	$(BIN)/workflow schema --output schema/definition.schema.json
	$(BIN)/workflow reference --output docs/definition-reference.md

## bench: every benchmark; the national one (98 municipalities, 300,000 cases, both
## databases, Prefect workers) takes about an hour and writes var/bench-national.md; the
## outcome pages over the same store on PostgreSQL (about 20 minutes) var/bench-outcomes.md
bench: $(STAMP)
	$(BIN)/python bench/engine_bench.py
	$(BIN)/python -m bench.delivery_bench --rows 3000
	$(BIN)/python -m bench.store_floor --transitions 10000
	$(BIN)/python -m bench.runtime_bench --cases 50000
	$(BIN)/python -m bench.web_bench --cases 50000
	$(BIN)/python -m bench.national_bench --output var/bench-national.md
	$(BIN)/python -m bench.outcomes_bench --output var/bench-outcomes.md

## bench-quick: the performance targets (delivery, service / store floor, intake, pages
## under 20 users), each with its figure and floor, in under 10 minutes: var/bench-quick.md
bench-quick: $(STAMP)
	$(BIN)/python -m bench.quick_bench --output var/bench-quick.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
