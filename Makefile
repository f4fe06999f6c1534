# Two commands for a new user: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1

.PHONY: setup run test lint typecheck pytest clean ui ui-stop serve

setup: $(STAMP)

# The venv is rebuilt only when the lock file or the project metadata change.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/note-etl run raw --warehouse warehouse

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Tests keep Prefect's INFO records out of its API (the CLI's terminal hides them anyway).
pytest: $(STAMP)
	PREFECT_LOGGING_LEVEL=$${PREFECT_LOGGING_LEVEL:-WARNING} $(BIN)/pytest -q

test: lint typecheck pytest

# Throughput, stages, memory and overhead ratios on a generated corpus (bench/README.md).
# BENCH_MB=2 takes about 1.5 minutes on 2 cores; BENCH_MB=100 gives the full figures.
.PHONY: bench
BENCH_MB ?= 2
bench: $(STAMP)
	$(BIN)/python bench/run.py --mb $(BENCH_MB)

# -- Operations (README, "Operations"): the Prefect UI and the scheduled deployments. ----
UI_HOST ?= 127.0.0.1
UI_PORT ?= 4200
UI_API := http://$(UI_HOST):$(UI_PORT)/api

# `--background` returns before the server answers (5-9 s here), so wait for /api/health.
# The UI finds the API at PREFECT_UI_API_URL, which otherwise ignores --port (says :4200).
ui: $(STAMP)
	@if $(BIN)/python -m etl.flows.deployments wait $(UI_API) 0.5 >/dev/null 2>&1; then \
		echo "Prefect server already running at $(UI_API)"; \
	else \
		PREFECT_UI_API_URL=$(UI_API) \
			$(BIN)/prefect server start --host $(UI_HOST) --port $(UI_PORT) --analytics-off --background >/dev/null && \
		$(BIN)/python -m etl.flows.deployments wait $(UI_API) 60; \
	fi
	@echo "Prefect UI:  http://$(UI_HOST):$(UI_PORT)"
	@echo "Point runs at it:  export PREFECT_API_URL=$(UI_API)"

ui-stop:
	$(BIN)/prefect server stop

# INFO logs, so the UI shows which article each task processed and why any was rejected.
serve: $(STAMP)
	PREFECT_API_URL=$${PREFECT_API_URL:-$(UI_API)} PREFECT_LOGGING_LEVEL=INFO \
		$(BIN)/note-etl serve --config config/pipeline.yaml

lock:
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV) warehouse .prefect .pytest_cache .mypy_cache .ruff_cache
