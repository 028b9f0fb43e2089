# demandmatch — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# exact versions of every package (`make lock` writes it): the same figures from the same code
CONSTRAINTS := constraints.txt
PIP_INSTALL := $(BIN)/python -m pip install --quiet -c $(CONSTRAINTS)

DATA ?=
AS_OF ?=
HORIZON ?= 14
OUT ?= outputs/forecast
SEED ?= 0
CONFIG ?=
DEFAULT_CONFIG := configs/default.yaml
# make forecast: the registered champion's config when there is one, unless CONFIG is given
FORECAST_CONFIG = --config $(or $(CONFIG),$(DEFAULT_CONFIG)) $(if $(CONFIG),,--champion)
MLFLOW_URI = $(or $(MLFLOW_TRACKING_URI),sqlite:///$(CURDIR)/mlflow.db)
MLFLOW_PORT ?= 5000

.DEFAULT_GOAL := help

help: ## List the targets
	@if [ -t 1 ]; then on='\033[36m'; off='\033[0m'; else on=''; off=''; fi; \
	grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | \
	awk -v on="$$on" -v off="$$off" 'BEGIN {FS = ":.*?## "}; {printf "  %s%-18s%s %s\n", on, $$1, off, $$2}'
	@echo "  Variables: DATA=dir AS_OF=timestamp HORIZON=days OUT=dir SEED=n CONFIG=file MLFLOW_PORT=n"

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(PIP_INSTALL) -e '.[dev]'
	touch $(STAMP)

$(VENV)/.bench: $(STAMP)
	$(PIP_INSTALL) -e '.[dev,bench]'
	touch $(VENV)/.bench

setup: $(STAMP) ## Create .venv and install the package with its dependencies (pinned)

lock: ## Pin every package to what a fresh install picks today (writes constraints.txt)
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet '.[dev,bench]'
	{ echo "# exact versions for make setup and the benchmarks; make lock writes this file"; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^demandmatch'; } > $(CONSTRAINTS)
	rm -rf .lock-venv build

forecast: $(STAMP) ## Forecast and plan the upcoming streams (demo world when DATA is empty; the champion's config if any)
ifeq ($(strip $(DATA)),)
	$(BIN)/demandmatch simulate --seed $(SEED) --out outputs/demo-world --reuse
	$(BIN)/demandmatch forecast --data outputs/demo-world/data --horizon-days $(HORIZON) --out $(OUT) $(FORECAST_CONFIG) $(if $(AS_OF),--as-of "$(AS_OF)")
else
	$(BIN)/demandmatch forecast --data $(DATA) --horizon-days $(HORIZON) --out $(OUT) $(FORECAST_CONFIG) $(if $(AS_OF),--as-of "$(AS_OF)")
endif

test: $(STAMP) ## Run the whole test suite
	$(BIN)/python -m pytest -q

test-fast: $(STAMP) ## Run the tests but those marked slow
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP) ## Lint and check formatting
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## Format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

docs-config: $(STAMP) ## Write docs/configuration.md and configs/default.yaml from the config model
	$(BIN)/demandmatch config-docs --docs docs/configuration.md --yaml configs/default.yaml

bench: $(STAMP) ## Forecasts and plans on every world of the zoo (3 seeds each) against oracle, point and naive plans
	$(BIN)/python benchmarks/bench_zoo.py --seeds 0 1 2 --workers 2 --out outputs/bench-zoo

bench-scale: $(STAMP) ## Plan solve time, memory and gap to the LP bound at 1k, 10k and 50k SKUs
	$(BIN)/python benchmarks/bench_plan_scale.py --sizes 1000 10000 50000

bench-growth: $(STAMP) ## Forecast time per stage, peak memory and growth exponents at 1x-8x worlds, and the ~1M-item world
	$(BIN)/python benchmarks/bench_growth.py --sizes x1 x2 x4 x8 --million

bench-dask: $(STAMP) ## The Dask engine: speed-up from 1 to 2 local workers and agreement with one machine (2x world)
	$(BIN)/python benchmarks/bench_dask.py --size x2 --workers 1 2

bench-forecast: $(STAMP) ## Demand backtest vs the true distributions, naive and uncensored models (3 seeds)
	$(BIN)/python benchmarks/bench_forecast.py --seeds 0 1 2 --compare

bench-returns: $(STAMP) ## Return rates against the true ones on six demo worlds, beside simpler estimates
	$(BIN)/python benchmarks/bench_returns.py --seeds 0 1 2 3 4 5

bench-m5: $(VENV)/.bench ## Real data (DEMANDMATCH_M5_DIR): M5 TX_3 FOODS_3 final 28 days vs mlforecast and statsforecast
	$(BIN)/python benchmarks/bench_m5.py

bench-import: $(STAMP) ## Catalog import of 100k rows: preview, apply, update, rollback on SQLite and PostgreSQL
	$(BIN)/python benchmarks/bench_import.py --rows 100000

backtest: $(STAMP) ## Rolling-origin backtest of the demand model (demo world when DATA is empty)
ifeq ($(strip $(DATA)),)
	$(BIN)/demandmatch simulate --seed $(SEED) --out outputs/demo-world --reuse
	$(BIN)/demandmatch backtest --data outputs/demo-world/data --out outputs/backtest --config $(or $(CONFIG),$(DEFAULT_CONFIG))
else
	$(BIN)/demandmatch backtest --data $(DATA) --out outputs/backtest --config $(or $(CONFIG),$(DEFAULT_CONFIG))
endif

experiments-smoke: $(STAMP) ## A tiny experiment end to end and its comparison (store: MLFLOW_TRACKING_URI, else ./mlflow.db)
	$(BIN)/demandmatch experiment run experiments/smoke.yaml

bench-experiments: $(STAMP) ## The three example experiments on small demo worlds: wall time and peak memory
	$(BIN)/python benchmarks/bench_experiments.py

mlflow-ui: $(STAMP) ## MLflow's UI on 127.0.0.1 (port MLFLOW_PORT, 5000) against the project's store
	$(BIN)/mlflow ui --backend-store-uri "$(MLFLOW_URI)" --host 127.0.0.1 --port $(MLFLOW_PORT) --workers 1

clean: ## Remove outputs and the tracking store (keeps .venv)
	rm -rf outputs mlflow.db mlartifacts mlruns

.PHONY: help setup lock forecast test test-fast lint format docs-config bench bench-scale bench-growth bench-dask bench-forecast bench-returns bench-m5 bench-import backtest clean experiments-smoke bench-experiments mlflow-ui
