# The two commands of the README: `make demo` and `make test`. Both work on a
# fresh machine with no AWS account: they create the venv, install pinned
# Python and npm dependencies, and never call AWS.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAGE ?= dev
PROMPT ?= Analyze SIM_STOCK for investment purposes
PYTEST_ARGS ?=

# Node 20 is end-of-life; jsii prints a large warning on every synth unless this
# variable lists the major version in use (jsii reads a comma-separated list of majors).
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1
# The CDK CLI must not phone home (no network in CI beyond package registries).
export CDK_DISABLE_VERSION_CHECK := 1

.PHONY: help setup demo synth analyze serve test lint unit integration snapshot-update bench mutants clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/activate requirements.txt requirements-dev.txt constraints.txt agent_runtime/requirements.txt agent_runtime/pyproject.toml
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e agent_runtime
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed ## create .venv and install pinned dependencies

synth: setup ## synthesize every stack (cdk-nag on) for STAGE into cdk.out/
	rm -rf cdk.out
	npx cdk synth -c stage=$(STAGE) --quiet
	@echo "Synthesized $$(ls cdk.out/*.template.json | wc -l) templates for stage $(STAGE) into cdk.out/ (cdk-nag AwsSolutions: clean)"

analyze: setup ## run one local analysis (offline model, simulated data) into reports/
	$(BIN)/stock-agent analyze "$(PROMPT)"

demo: synth analyze ## quick start: synthesize nag-clean templates, then analyse SIM_STOCK locally

serve: setup ## serve the AgentCore HTTP contract on localhost:8080
	$(BIN)/stock-agent serve --port 8080

lint: setup ## ruff, mypy, hadolint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint agent_runtime/Dockerfile model_container/Dockerfile

test: setup lint ## the whole suite: lint, unit and integration tests (no network, no AWS)
	$(BIN)/pytest $(PYTEST_ARGS)

snapshot-update: setup ## rewrite the template snapshots on purpose (review the diff!)
	$(BIN)/pytest tests/unit/infra --snapshot-update

bench: setup ## run the benchmarks, print a table, write bench/RESULTS.md
	$(PY) -m bench.run

mutants: setup ## mutation testing of the rule modules (CPU heavy, niced): writes bench/mutants.md
	nice -n 10 $(PY) -m bench.mutants $(MUTANTS_ARGS)

clean: ## remove build outputs (keeps .venv and node_modules)
	rm -rf cdk.out reports .pytest_cache .mypy_cache .ruff_cache
