# demandmatch — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

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
	@grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'
	@echo "  Variables: DATA=dir AS_OF=timestamp HORIZON=days OUT=dir SEED=n CONFIG=file MLFLOW_PORT=n"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(VENV)/.bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(VENV)/.bench

setup: $(STAMP) ## Create .venv and install the package with its dependencies

forecast: $(STAMP) ## Forecast and plan the upcoming streams (demo world when DATA is empty; the champion's config if any)
ifeq ($(strip $(DATA)),)
	$(BIN)/demandmatch simulate --seed $(SEED) --out outputs/demo-world --reuse
	$(BIN)/demandmatch forecast --data outputs/demo-world/data --horizon-days $(HORIZON) --out $(OUT) $(FORECAST_CONFIG) $(if $(AS_OF),--as-of "$(AS_OF)")
else
	$(BIN)/demandmatch forecast --data $(DATA) --horizon-days $(HORIZON) --out $(OUT) $(FORECAST_CONFIG) $(if $(AS_OF),--as-of "$(AS_OF)")
endif

test: $(STAMP) ## Run the test suite
	$(BIN)/python -m pytest -q

lint: $(STAMP) ## Lint and check formatting
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## Format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) ## Forecast and plan quality against the oracle and naive baselines on demo worlds
	$(BIN)/python experiments/bench_demo.py --seeds 0 1 2 3 4 5

bench-scale: $(STAMP) ## Plan solve time, memory and gap to the LP bound at 1k, 10k and 50k SKUs
	$(BIN)/python experiments/bench_plan_scale.py --sizes 1000 10000 50000

bench-forecast: $(STAMP) ## Demand backtest vs the true distributions, naive and uncensored models (3 seeds)
	$(BIN)/python experiments/bench_forecast.py --seeds 0 1 2 --compare

bench-returns: $(STAMP) ## Return rates against the true ones on six demo worlds, beside simpler estimates
	$(BIN)/python experiments/bench_returns.py --seeds 0 1 2 3 4 5

bench-m5: $(VENV)/.bench ## Real data: M5 TX_3 FOODS_3 final 28 days vs mlforecast and statsforecast
	$(BIN)/python experiments/bench_m5.py

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

.PHONY: help setup forecast test lint format bench bench-scale bench-forecast bench-returns bench-m5 backtest clean experiments-smoke bench-experiments mlflow-ui
