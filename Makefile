# Scriptorium: `make run` serves the demo, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck pytest install clean

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	@DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput -v 0
	@DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Scriptorium is running at http://$(HOST):$(PORT)/"
	@echo "  Log in as admin / admin, annotator / annotator or reviewer / reviewer."
	@echo ""
	@DEBUG=$${DEBUG:-1} OUTBOUND_ALLOWED_HOSTS=$${OUTBOUND_ALLOWED_HOSTS:-127.0.0.1,localhost} $(BIN)/python manage.py runserver $(HOST):$(PORT)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo --no-cache

typecheck: $(VENV)/.installed-dev
	DEBUG=1 SECRET_KEY=typecheck-only $(BIN)/mypy .

pytest: $(VENV)/.installed-dev
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .mypy_cache .ruff_cache
