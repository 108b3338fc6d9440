# Two commands: `make run` (the product on embedded defaults) and `make test` (the whole suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_PASSWORD ?= demo
PORT ?= 8000

.PHONY: run test eval lint format check install install-dev clean vendor

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (found " + sys.version.split()[0] + "); set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Web (daphne), worker and beat together, on SQLite, the in-memory channel layer and a
# filesystem broker. Debug settings apply here only; production sets its own environment.
run: export DJANGO_DEBUG = true
run: export DEMO_PASSWORD := $(DEMO_PASSWORD)
run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Console:        http://127.0.0.1:$(PORT)/console/   admin: http://127.0.0.1:$(PORT)/admin/"
	@echo "  Demo logins:    supervisor / agent / manager   password: $(DEMO_PASSWORD)"
	@echo "  API docs:       http://127.0.0.1:$(PORT)/api/v1/docs   health: http://127.0.0.1:$(PORT)/healthz"
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" WEB_BIND=127.0.0.1 $(BIN)/honcho --procfile Procfile start --port $(PORT) web worker beat

# Uses DATABASE_URL and REDIS_URL when they are set (CI sets both), else SQLite and in-memory.
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

# The agent evaluation suite (evals/): offline agent, rules callers, scratch databases; the report
# goes to var/eval/. It never touches the configured database. EVAL_ARGS adds options
# (e.g. EVAL_ARGS="--filter roadside --repeat 3"); README "Agent evaluation".
eval: $(VENV)/.installed-dev
	DJANGO_DEBUG=true $(BIN)/python manage.py eval_agent --report var/eval $(EVAL_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	DJANGO_DEBUG=true $(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# What CI checks besides the tests: migrations in step with models, production settings sound.
check: $(VENV)/.installed-dev
	DJANGO_DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_DEBUG=false DJANGO_SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
		DJANGO_ALLOWED_HOSTS=cc.example.com PUBLIC_BASE_URL=https://cc.example.com \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

# Front-end libraries (htmx, Chart.js) into static/vendor/ at the versions pinned in the script,
# checked against the npm registry's integrity hashes. The result is committed; nothing loads from
# a CDN at run time, and `make run` needs no npm.
vendor:
	scripts/vendor.sh

clean:
	rm -rf $(VENV) var db.sqlite3 db.sqlite3-wal db.sqlite3-shm .pytest_cache .ruff_cache
