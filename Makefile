# Two commands: `make run` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export FLASK_APP := app

.PHONY: run test setup setup-test db serve worker beat bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test: requirements-test.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

setup: $(VENV)/.runtime
setup-test: $(VENV)/.test

db: setup
	$(BIN)/flask init-db
	$(BIN)/flask demo

## make run: set up, load reference and demo data, serve on http://127.0.0.1:5000 (SQLite, eager tasks)
run: db
	$(BIN)/flask run --host 127.0.0.1 --port 5000

## make test: set up and run the whole suite (TONGBAN_DATABASE_URL selects PostgreSQL)
test: setup-test
	$(BIN)/python -m pytest

## scale-out processes (TONGBAN_DATABASE_URL and TONGBAN_BROKER_URL set)
serve: setup
	$(BIN)/gunicorn --workers 4 --bind 127.0.0.1:5000 'app:create_app()'
worker: setup
	$(BIN)/celery --app app.celery_app worker --loglevel INFO
beat: setup
	$(BIN)/celery --app app.celery_app beat --loglevel INFO

bench: setup-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) instance .pytest_cache
