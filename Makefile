# Two entry points: `make run` starts the bot, `make test` runs every check.
# Both create the virtual environment on first use, so a fresh machine needs only
# Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-postgres lint format typecheck pytest bench bench-smoke clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/codesign-bot run

test: lint typecheck pytest

# `make test` with a throwaway PostgreSQL server (Debian's postgresql package), removed after.
test-postgres: $(STAMP)
	@exports="$$(scripts/postgres-test-cluster.sh start)" && eval "$$exports" && \
	trap 'scripts/postgres-test-cluster.sh stop' EXIT INT TERM && $(MAKE) test

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m bench.load

bench-smoke: $(STAMP)
	$(BIN)/python -m bench.load --smoke

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
