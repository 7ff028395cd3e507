# The two set-up commands of the README, and the pieces CI shares with them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test install install-test browser oracle lint bench wrk

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

# Start the service on its embedded defaults: SQLite under ./instance, ./rules, the log provider.
run: install
	$(BIN)/responder db upgrade
	$(BIN)/gunicorn --config gunicorn.conf.py --bind 127.0.0.1:$(PORT) wsgi:app

# Headless Chromium for the dashboard tests (Debian's package, driven by Playwright).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

# The reference SMS segment calculator for the differential test.
oracle:
	cd tests/oracle && npm ci --silent --no-audit --no-fund

# Install everything and run the whole test suite.
test: install-test browser oracle
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: install-test
	$(BIN)/ruff check .

# The HTTP load generator of the throughput benchmark (Debian's package).
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; fi; }

# Every benchmark, written to bench/README.md (about ten minutes; see bench/README.md).
bench: install-test wrk
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench
