# The two commands of the README: `make demo` and `make test`. Both work on a
# fresh machine with no AWS account and no uv: they fetch the pinned uv into
# .uv/ (pip, hash-checked), create the venv, install the hash-locked Python
# and npm dependencies, and never call AWS.
#
# Installer: uv by default; `make setup PIP=pip` installs the same lock with
# plain pip instead (slower, same hashes). `make lock` regenerates the locks
# from the requirements files (README: "Adding a dependency").
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
# pytest-xdist workers: one per core, plus one that runs while the others wait on
# sockets, deadlines and subprocesses (2 cores: 3 workers took the suite from about
# 134-154 s to 123-126 s here; docs/decisions.md).
WORKERS ?= $(shell $(PYTHON) -c "import os; print(len(os.sched_getaffinity(0)) + 1)")
# Set PIP=pip to install with pip instead of uv.
PIP ?=

# uv: the pinned version, from PATH when it is that version, else bootstrapped
# into .uv/ by pip from the hash-checked agent_runtime/uv-bootstrap.txt.
UV_VERSION := 0.13.8
UV_BOOT := .uv
ifeq ($(origin UV),undefined)
  ifeq ($(shell uv --version 2>/dev/null | cut -d' ' -f2),$(UV_VERSION))
    UV := uv
  else
    UV := $(UV_BOOT)/bin/uv
  endif
endif
UV_DEP := $(if $(filter $(UV_BOOT)/bin/uv,$(UV)),$(UV_BOOT)/bin/uv,)
INSTALLER_DEP := $(if $(PIP),,$(UV_DEP))

# The locks resolve from PyPI only, whatever pip.conf, uv.toml or UV_* say.
LOCK_INDEX := https://pypi.org/simple
UV_COMPILE = env -u UV_INDEX_URL -u UV_EXTRA_INDEX_URL -u UV_DEFAULT_INDEX -u UV_INDEX \
	-u UV_FIND_LINKS -u UV_CONSTRAINT -u UV_OVERRIDE -u UV_NO_BINARY \
	$(UV) pip compile --quiet --no-config --default-index $(LOCK_INDEX) --universal \
	--python-version 3.11 --generate-hashes --custom-compile-command "make lock"

# Node 20 is end-of-life; jsii prints a large warning on every synth unless this
# variable lists the major version in use (jsii reads a comma-separated list of majors).
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# Bytecode is cached: uv installs without compiling (seconds, not minutes), and the
# modules a run imports are compiled once and cached in .venv, so a test worker, server
# or synth subprocess does not compile them again. A shell or CI image that sets
# PYTHONDONTWRITEBYTECODE (some do) would make every one of them recompile from source
# (collecting the suite: 25 s instead of 8 s), so make drops it. __pycache__/ is
# ignored by git and by the image's .dockerignore (so asset hashes do not change).
unexport PYTHONDONTWRITEBYTECODE
# The CDK CLI must not phone home (no network in CI beyond package registries):
# no version check, no telemetry, no notices, no EC2 metadata probe.
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true
export AWS_EC2_METADATA_DISABLED := true

.PHONY: help setup demo synth analyze serve test test-fast lint typecheck-cdk unit integration \
	lock snapshot-update bench clean scan train-smoke mutants

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# The uv wheel goes straight into .uv/ (pip --target: its binary lands in .uv/bin/) with
# the interpreter's own pip: a venv with pip in it costs 5 s of the newcomer's minute.
# An interpreter without pip gets a throw-away venv for that one install.
$(UV_BOOT)/bin/uv: agent_runtime/uv-bootstrap.txt
	rm -rf $(UV_BOOT)
	if $(PYTHON) -m pip --version >/dev/null 2>&1; then pip_python=$(PYTHON); \
	else $(PYTHON) -m venv $(UV_BOOT)-pip && pip_python=$(UV_BOOT)-pip/bin/python; fi; \
	PIP_ROOT_USER_ACTION=ignore $$pip_python -m pip install -q --disable-pip-version-check \
		--require-hashes --no-deps --target $(UV_BOOT) -r agent_runtime/uv-bootstrap.txt
	rm -rf $(UV_BOOT)-pip
	touch $@

$(PY): | $(INSTALLER_DEP)
ifeq ($(PIP),)
	$(UV) venv --quiet --python $(PYTHON) $(VENV)
else
	$(PYTHON) -m venv $(VENV)
endif

# Everything `make test` needs, exactly as locked (hashes checked), then the
# agent package (editable, built offline by the locked setuptools).
$(VENV)/.installed: requirements.lock agent_runtime/pyproject.toml | $(PY) $(INSTALLER_DEP)
ifeq ($(PIP),)
	$(UV) pip sync --quiet --python $(PY) --require-hashes requirements.lock
	$(UV) pip install --quiet --python $(PY) --offline --no-deps --no-build-isolation \
		-e agent_runtime
else
	$(PY) -m pip --version >/dev/null 2>&1 || $(PY) -m ensurepip --upgrade >/dev/null
	$(PY) -m $(PIP) install -q --disable-pip-version-check --require-hashes --no-deps \
		-r requirements.lock
	$(PY) -m $(PIP) install -q --disable-pip-version-check --no-index --no-deps \
		--no-build-isolation -e agent_runtime
endif
	touch $@

# npm ci only when package-lock.json changed since the last install.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --no-update-notifier --loglevel=error
	touch $@

INSTALLED := $(VENV)/.installed node_modules/.installed

# The Python and npm installs are independent: run them side by side.
setup: ## create .venv and install the locked dependencies
	@$(MAKE) --no-print-directory -j2 --output-sync=target $(INSTALLED)

lock: $(UV_DEP) ## regenerate the hash-locked requirements*.lock from the requirements files
	$(UV_COMPILE) requirements-dev.txt -o requirements.lock
	$(UV_COMPILE) agent_runtime/requirements.txt agent_runtime/build-requirements.txt \
		-c requirements.lock -o agent_runtime/requirements.lock
	echo "uv==$(UV_VERSION)" | $(UV_COMPILE) - -o agent_runtime/uv-bootstrap.txt

synth: $(INSTALLED) ## synthesize every stack (cdk-nag on) for STAGE into cdk.out/
	rm -rf cdk.out
	npx cdk synth -c stage=$(STAGE) --quiet --no-notices
	@echo "Synthesized $$(ls cdk.out/*.template.json | wc -l) templates for stage $(STAGE) into cdk.out/ (cdk-nag AwsSolutions: clean)"

analyze: $(INSTALLED) ## run one local analysis (offline model, simulated data) into reports/
	$(BIN)/stock-agent analyze "$(PROMPT)"

# synth and analyze share nothing but the installs: side by side, each one's output in one piece.
# (They depend on the install files, not on `setup`, so that the installs run side by side
# in the same make.)
demo: ## quick start: synthesize nag-clean templates and analyse SIM_STOCK locally
	@$(MAKE) --no-print-directory -j2 --output-sync=target synth analyze

serve: setup ## serve the AgentCore HTTP contract on localhost:8080
	$(BIN)/stock-agent serve --port 8080

lint: setup ## ruff, mypy, hadolint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint agent_runtime/Dockerfile model_container/Dockerfile

# `make lint` treats the CDK packages as opaque (pyproject.toml says why); this checks
# the CDK code against aws-cdk-lib's full types (about 90 s on a cold cache).
typecheck-cdk: setup ## mypy over stacks/ and app.py with aws-cdk-lib's full types (deploy workflow)
	$(BIN)/mypy --config-file tools/mypy-cdk.ini

test: setup lint ## the whole suite on every core: lint, unit and integration tests (no network, no AWS)
	$(BIN)/pytest -n $(WORKERS) --dist worksteal $(PYTEST_ARGS)

test-fast: setup ## the suite without the slow tests (synth, servers), on every core
	$(BIN)/pytest -n $(WORKERS) --dist worksteal -m "not slow" $(PYTEST_ARGS)

snapshot-update: setup ## rewrite the template snapshots on purpose (review the diff!)
	$(BIN)/pytest tests/unit/infra --snapshot-update

# checkov pins an old boto3, so it gets a virtual environment of its own,
# installed from a lock file with the same uv as the project.
SCAN_VENV := .venv-scan
SCAN_OUT := cdk.out/scan

$(SCAN_VENV)/.installed: scan/requirements.lock | $(UV_DEP)
	$(PYTHON) -m venv $(SCAN_VENV)
	$(UV) pip install -q --python $(SCAN_VENV)/bin/python -r scan/requirements.lock
	touch $@

scan: setup $(SCAN_VENV)/.installed ## checkov over dev and prod templates; fails on findings not in scan/allowlist.txt
	rm -rf $(SCAN_OUT)
	for stage in dev prod; do \
	  npx cdk synth -c stage=$$stage -o $(SCAN_OUT)/$$stage --quiet; \
	  $(SCAN_VENV)/bin/checkov $$(for t in $(SCAN_OUT)/$$stage/*.template.json; do printf -- '-f %s ' $$t; done) \
	    --framework cloudformation --output json --soft-fail --skip-download > $(SCAN_OUT)/$$stage.json; \
	done
	$(PY) -m tools.checkov_gate --allowlist scan/allowlist.txt $(SCAN_OUT)/dev.json $(SCAN_OUT)/prod.json

bench: setup ## run the benchmarks, print a table, write bench/RESULTS.md
	$(PY) -m bench.run

.PHONY: eval
EVAL_ARGS ?=
eval: setup ## run the golden set (offline, in-process; EVAL_ARGS=--judge-url ...), write eval/RESULTS.md
	$(PY) -m eval $(EVAL_ARGS)

# --- training (docs/customization.md): its own venv, never part of demo, test or the image ---
VENV_TRAIN := .venv-train
# A local CPU torch wheel to install instead of PyPI's CUDA build (~2.7 GB with its libraries).
TORCH_WHEEL ?=

$(VENV_TRAIN)/.installed: training/requirements.txt training/requirements-torch.txt agent_runtime/pyproject.toml
	$(PYTHON) -m venv $(VENV_TRAIN)
	$(VENV_TRAIN)/bin/python -m pip install -q --disable-pip-version-check $(if $(TORCH_WHEEL),$(TORCH_WHEEL),-r training/requirements-torch.txt)
	$(VENV_TRAIN)/bin/python -m pip install -q --disable-pip-version-check -r training/requirements.txt
	$(VENV_TRAIN)/bin/python -m pip install -q --disable-pip-version-check --no-deps -e agent_runtime
	touch $@

train-smoke: $(VENV_TRAIN)/.installed ## SFT, DPO, GRPO, DAPO, GSPO two steps each on a tiny gpt-oss (CPU; not in CI)
	$(VENV_TRAIN)/bin/python training/smoke.py
# --- end training ---

mutants: setup ## mutation testing of the rule modules (CPU heavy, niced): writes bench/mutants.md
	nice -n 10 $(PY) -m bench.mutants $(MUTANTS_ARGS)

clean: ## remove build outputs (keeps .venv, .uv and node_modules)
	rm -rf cdk.out reports .pytest_cache .mypy_cache .ruff_cache
