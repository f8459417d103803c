# Two commands do everything: `make run` and `make test`. `make help` lists the rest.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name pipeline --display-name "pipeline (.venv)" >/dev/null
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project with its dev tools

run: $(STAMP) ## Run the main job end to end on the embedded AWS and DuckDB warehouse
	$(BIN)/pipeline run --ticks 10 --interval 0
	$(BIN)/pipeline validate --target local

test: $(STAMP) node_modules/.installed ## Run lint and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/pytest

typecheck: $(STAMP) ## Type-check pipeline/ and cdk_app/ with mypy (about 2 minutes uncached)
	$(BIN)/mypy

node_modules/.installed: package.json
	npm install --no-audit --no-fund --silent
	touch $@

synth: $(STAMP) node_modules/.installed ## Synthesize the CDK app into cdk.out/ with the CDK CLI
	PATH="$(CURDIR)/$(BIN):$$PATH" JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 npx --no-install cdk synth --quiet

# Extra options for `jupyter lab`, e.g. `make lab LAB_ARGS="--no-browser --port 8899"`.
# As root (common in containers) Jupyter refuses to start without --allow-root: added then.
LAB_ARGS ?=
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP) ## Open JupyterLab on notebooks/ (LAB_ARGS="..." passes options; --allow-root as root)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_ROOT) $(LAB_ARGS)

bench: $(STAMP) ## Benchmark the local pipeline
	$(BIN)/pipeline bench

clean: ## Remove derived files (warehouse, reports, cdk.out)
	rm -rf var reports cdk.out

.PHONY: help install run test typecheck synth lab bench clean
