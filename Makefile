# cpsync: `make demo` and `make test` are all a fresh clone needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The Lambda runtime is python3.12: `make test` runs the suite under it too when it is found
# (on PATH, or through pyenv); set PYTHON312= to skip.
PYTHON312 ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12; do \
	  "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { echo "$$p"; break; }; done)

.PHONY: install demo test lint format bench clean chromium

# Browser tests drive Debian's chromium (never `playwright install`, which downloads a browser).
CHROMIUM ?= /usr/bin/chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/cpsync demo

chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo -n apt-get update -qq && sudo -n apt-get install -y -qq chromium; fi; \
	fi

test: install lint chromium
	$(BIN)/pytest
	@if [ -n "$(PYTHON312)" ]; then \
	  $(MAKE) --no-print-directory install PYTHON=$(PYTHON312) VENV=.venv312 && \
	  .venv312/bin/pytest -q -p no:cacheprovider; \
	else echo "python3.12 not found: skipped the 3.12 run"; fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python -m bench
	$(BIN)/python -m bench.magento_client

clean:
	rm -rf $(VENV) .venv312 .demo .pytest_cache .mypy_cache .ruff_cache
