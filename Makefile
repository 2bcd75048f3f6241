# cpsync: `make demo` and `make test` are all a fresh clone needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The Lambda runtime is python3.12: `make test` runs the suite under it too when it is found
# (on PATH, or through pyenv); set PYTHON312= to skip.
PYTHON312 ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12; do \
	  "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { echo "$$p"; break; }; done)

# Browser tests drive Debian's chromium; Playwright never downloads a browser of its own.
CHROMIUM ?= /usr/bin/chromium

# AWS tooling: aws-sam-cli pins boto3 and click exactly (they clash with the dev extra), so it
# lives in its own venv; aws-sam-translator and cfn-lint are in the dev extra for the tests.
TOOLS  ?= .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed
SAM    := SAM_CLI_TELEMETRY=0 $(TOOLS)/bin/sam
STACK  ?= cpsync

.PHONY: install tools demo test lint format bench clean chromium build deploy e2e-aws dist

$(STAMP): pyproject.toml dev/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e ./dev
	touch $(STAMP)

$(TOOLS_STAMP):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet 'aws-sam-cli==1.170.0'
	touch $(TOOLS_STAMP)

tools: $(TOOLS_STAMP)

install: $(STAMP) $(TOOLS_STAMP)

demo: install
	$(BIN)/cpsync demo

chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo -n apt-get update -qq && sudo -n apt-get install -y -qq chromium; fi; \
	fi

# The 3.11 and 3.12 suites run side by side (the tests wait on I/O much of the time); the
# 3.12 output is printed after the 3.11 run, and either failing fails the target.
test: install lint chromium
	@if [ -n "$(PYTHON312)" ]; then \
	  $(MAKE) --no-print-directory install PYTHON=$(PYTHON312) VENV=.venv312; \
	else echo "python3.12 not found: skipped the 3.12 run"; fi
	@status=0; \
	if [ -n "$(PYTHON312)" ]; then \
	  ( .venv312/bin/pytest -q -p no:cacheprovider > .pytest-312.log 2>&1; \
	    echo $$? > .pytest-312.rc ) & \
	fi; \
	$(BIN)/pytest || status=$$?; \
	wait; \
	if [ -n "$(PYTHON312)" ]; then \
	  echo "--- the same suite under $(PYTHON312) ---"; rc=$$(cat .pytest-312.rc); \
	  if [ "$$rc" = 0 ]; then tail -n 5 .pytest-312.log; else cat .pytest-312.log; status=$$rc; fi; \
	fi; \
	exit $$status

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(SAM) validate --lint --template template.yaml
	$(BIN)/python tools/translate_template.py template.yaml build/template.cfn.json
	$(BIN)/cfn-lint build/template.cfn.json

# The wheel the store agent installs (cpsync is not on PyPI): dist/cpsync-<version>-py3-none-any.whl.
# Built with the dev venv's setuptools (--no-isolation), so it needs no network.
dist: $(STAMP)
	rm -rf build/lib build/bdist.* dist/cpsync-*.whl
	$(BIN)/python -m build --wheel --no-isolation --outdir dist .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python -m bench
	$(BIN)/python -m bench.magento_client
	$(BIN)/python -m bench.price_writes
	$(BIN)/python -m bench.drain
	$(BIN)/python -m bench.detection
	$(BIN)/python -m bench.requests
	$(BIN)/python -m bench.day
	$(BIN)/python -m bench.first_load --items 1000 10000

# sam build runs the layers' Makefiles (layers/*/Makefile): pip for the python3.12 Lambda
# runtime and bytecode for it, so they need a python3.12 that runs.
build: install
	@if [ -z "$(PYTHON312)" ]; then \
	  echo "make build: sam build needs python3.12 (the Lambda runtime). Install it (e.g." \
	  "pyenv install 3.12) or pass PYTHON312=/path/to/python3.12." >&2; exit 1; fi
	PATH="$$(dirname "$$(command -v $(PYTHON312))"):$$PATH" $(SAM) build --template template.yaml

# The first deploy of a stack is guided (answers saved in samconfig.toml); later ones are not.
deploy: build
	@if $(SAM) list stack-outputs --stack-name $(STACK) >/dev/null 2>&1; then \
	  $(SAM) deploy --stack-name $(STACK); \
	else \
	  $(SAM) deploy --guided --stack-name $(STACK); \
	fi

# The deployed-stack test: ministack (pinned, its own python3.12 venv so the Lambdas run on the
# template's runtime), sam build, sam deploy, then real Lambdas against the Magento emulator.
MINISTACK_STAMP := .venv-ministack/.installed
$(MINISTACK_STAMP):
	@test -n "$(PYTHON312)" || { echo "make e2e-aws: needs python3.12" >&2; exit 1; }
	$(PYTHON312) -m venv .venv-ministack
	.venv-ministack/bin/python -m pip install --quiet 'ministack==1.5.33' \
	  'aws-sam-translator==1.115.0' 'boto3==1.43.106'
	touch $(MINISTACK_STAMP)

e2e-aws: build $(MINISTACK_STAMP)
	CPSYNC_MINISTACK=1 $(BIN)/pytest tests/deployed -q -p no:cacheprovider

clean:
	rm -f .pytest-312.log .pytest-312.rc
	rm -rf $(VENV) .venv312 $(TOOLS) .venv-ministack .demo .pytest_cache .mypy_cache .ruff_cache .aws-sam build
