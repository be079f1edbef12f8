# Two commands from a fresh clone: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
STAMP := $(VENV)/.installed
export FLASK_APP := portal

.PHONY: run test check install browser services migrate demo benchmark benchmark-readers throughput request-cost wrk fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	PORTAL_CONFIG=development $(BIN)/flask db upgrade

demo: migrate
	PORTAL_CONFIG=development $(BIN)/flask demo load

run: demo
	PORTAL_CONFIG=development $(BIN)/flask serve --host 127.0.0.1 --port $(PORT)

# Debian's Chromium for the browser ring; installed with apt-get when missing and root.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Chromium is missing and this is not root: install Debian's chromium package."; \
	  fi; \
	fi

# Debian's nginx and redis-server for the two-host test (tests/processes/test_two_hosts.py);
# installed with apt-get when missing and root. Under CI=true that test fails without them.
services:
	@if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ] || ! command -v redis-server >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx redis-server >/dev/null; \
	  else \
	    echo "nginx or redis-server is missing and this is not root: install Debian's nginx and redis-server packages."; \
	  fi; \
	fi

# Rings in order, fastest first, each spread over both cores (pytest-xdist; every
# worker has its own databases and ports). The cross-process races run alone.
PYTEST := $(BIN)/python -m pytest
WORKERS ?= 2

test: install browser services
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(PYTEST) -n $(WORKERS) tests/docs tests/unit tests/http
	$(PYTEST) -n $(WORKERS) tests/robustness
	$(PYTEST) -n $(WORKERS) tests/browser
	$(PYTEST) tests/processes

# The inner loop: lint, layers, unit and HTTP rings on SQLite (under a minute and a half).
check: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	PORTAL_TEST_DATABASES=sqlite $(PYTEST) -n $(WORKERS) -q tests/docs tests/unit tests/http

# Admin console at scale (about 10 minutes): prints the figures the README quotes.
benchmark: install
	$(BIN)/python benchmarks/admin_scale.py

# Readers at a million messages with real encrypted bodies (about 15 minutes): Inbox,
# reading pane and Sent beside raw SQL, and the plan of every query they run.
benchmark-readers: install
	$(BIN)/python benchmarks/reader_scale.py

# The generated-input suite at 10,000 cases per database, random seeds (about 6 minutes).
fuzz: install
	PORTAL_FUZZ_EXAMPLES=10000 $(BIN)/python -m pytest tests/robustness

# wrk (Debian package) for the throughput benchmark; installed with apt-get when missing and root.
wrk:
	@if ! command -v wrk >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else \
	    echo "wrk is missing and this is not root: install Debian's wrk package."; exit 1; \
	  fi; \
	fi

# The portal under gunicorn, loaded with wrk beside the hand-written floor and a bare
# Flask endpoint (about 15 minutes).
throughput: install wrk services
	$(BIN)/python benchmarks/throughput.py

# CPU, SQL statements and commits per request of every signed-in page, beside the
# hand-written floor (benchmarks/floor) in the same process, SQLite and PostgreSQL (about 6 minutes).
request-cost: install
	$(BIN)/python benchmarks/request_cost.py

clean:
	rm -rf $(VENV) .pytest_cache .cache
