# Nivesh training platform. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STATE_DIR ?= .nivesh
PACKAGES := -e images/common -e images/credit_risk -e images/anomaly -e images/drift -e ".[dev]"
INSTALLED := $(VENV)/.installed

.DEFAULT_GOAL := help

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml constraints.txt images/*/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet --constraint constraints.txt $(PACKAGES)
	touch $@

install: $(INSTALLED) ## Create the virtual environment (.venv) with Airflow, MLflow and every step image's package

run: $(INSTALLED) ## Main job: the master pipeline (every model DAG) on the embedded default (.nivesh/), then the registry and the summary (FORCE=1: train even without drift)
	$(BIN)/nivesh-platform run --state-dir $(STATE_DIR) $(if $(FORCE),--force)

ui: $(INSTALLED) ## Airflow UI (http://127.0.0.1:8080, admin/admin) and MLflow UI (http://127.0.0.1:5000) on the embedded default until Ctrl-C (AIRFLOW_PORT, MLFLOW_PORT)
	$(BIN)/nivesh-platform ui --state-dir $(STATE_DIR)

summary: $(INSTALLED) ## Print the registry table of the embedded default
	$(BIN)/nivesh-platform summary --state-dir $(STATE_DIR)

lint: $(INSTALLED) ## Ruff over every package, the DAGs and the tests
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(INSTALLED) lint ## What CI runs: lint, then every test
	$(BIN)/pytest

test-fast: $(INSTALLED) ## The quick loop: every test not marked slow
	$(BIN)/pytest -m "not slow"

bench: $(INSTALLED) ## Benchmarks: DAG parse time, launcher overhead, credit training time and memory at 10k/100k/1M rows
	$(BIN)/python -m nivesh_platform.bench --state-dir $(STATE_DIR)/bench

clean-state: ## Delete the embedded default's state (.nivesh/): runs, registry, sample data
	rm -rf $(STATE_DIR)

clean: clean-state ## Delete the state and the virtual environment
	rm -rf $(VENV)

.PHONY: help install run ui summary lint test test-fast bench clean-state clean
