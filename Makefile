# yeko-sql: every target sets up what it needs; `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.DEFAULT_GOAL := help
.PHONY: help install postgres pgbouncer autofailover chromium cluster studio studio-shots lint test stress demo migrate bench guardrails stubs server-start server-stop clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

install: $(STAMP) ## create .venv; install yeko-sql, its dev tools and benchmark peers

postgres: ## make sure PostgreSQL server binaries are on the machine (apt-get when missing)
	@bash .ci/ensure-postgres

pgbouncer: ## make sure PgBouncer is on the machine (apt-get when missing); the suite tests behind it
	@bash .ci/ensure-pgbouncer

chromium: ## make sure headless Chromium and chromedriver are on the machine (apt-get when missing); the studio's browser test drives them
	@bash .ci/ensure-chromium

autofailover: ## make sure pg_auto_failover is on the machine (apt-get when missing); the failover test runs a cluster
	@bash .ci/ensure-autofailover

lint: install ## ruff, mypy --strict, and squawk over the migrations
	$(BIN)/ruff check .
	$(BIN)/mypy
	bash .ci/squawk
	bash .ci/stubs-check

test: install postgres pgbouncer autofailover chromium lint ## lint, type-check, the whole suite on a real PostgreSQL, then examples/blog from a fresh wheel
	$(BIN)/pytest --query-coverage
	bash .ci/example-check

stress: install postgres autofailover ## the load and fault tests for 5 minutes (make test runs them for 30 s)
	YEKO_STRESS_SECONDS=$${YEKO_STRESS_SECONDS:-300} $(BIN)/pytest -m stress -s

demo: install postgres ## start the local server, create yeko_demo, migrate, show what is there
	$(BIN)/yeko-sql demo

migrate: install postgres ## apply migrations to DATABASE_URL, else to the local server
	$(BIN)/yeko-sql migrate apply

bench: install postgres ## yeko-sql against its peers; tables and charts in benchmarks/results/
	$(BIN)/python -m benchmarks

guardrails: install postgres ## seed the scale size (once) and hold every budgeted query's plan to its guardrails
	bash .ci/guardrails

stubs: install postgres ## regenerate yeko_sql/yeko/typed.pyi after changing a query, Struct or migration
	bash .ci/stubs-check --write

studio: install postgres ## serve yeko-sql studio on 127.0.0.1 against the local server's database
	$(BIN)/yeko-sql studio

studio-shots: install postgres chromium ## screenshots of every studio page into .yeko/studio-shots/ (not committed)
	YEKO_STUDIO_SHOTS=$(CURDIR)/.yeko/studio-shots $(BIN)/pytest tests/test_studio_browser.py -q
	@echo "screenshots in .yeko/studio-shots/"

cluster: install postgres autofailover ## start (or reuse) a local HA cluster: pg_auto_failover monitor, primary, standby
	$(BIN)/yeko-sql cluster start

server-start: install postgres ## start (or reuse) the local server and print its URL
	$(BIN)/yeko-sql server start

server-stop: install ## stop the local server
	$(BIN)/yeko-sql server stop

clean: ## delete the local server (only a folder it made: it refuses others), .venv and .yeko
	if [ -x $(BIN)/yeko-sql ]; then $(BIN)/yeko-sql server destroy; fi
	rm -rf $(VENV) .yeko .mypy_cache .ruff_cache .pytest_cache dist build
