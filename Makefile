# Two commands: `make run` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export FLASK_APP := app

.PHONY: run test setup setup-test browser db flask serve worker beat bench clean

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

## NODE=140000 [PREFIXES=14]: run, db and flask act as that federation node, with its own folder instance/NODE
## (database and keys); PREFIXES defaults to the node id without its trailing 0000. Unset: one installation.
NODE ?=
PREFIXES ?= $(patsubst %0000,%,$(NODE))
NODE_ENV = $(if $(NODE),TONGBAN_NODE=$(NODE) TONGBAN_NODE_PREFIXES=$(PREFIXES) TONGBAN_INSTANCE_PATH=instance/$(NODE))

db: setup
	$(NODE_ENV) $(BIN)/flask init-db
	$(NODE_ENV) $(BIN)/flask demo

## make run [PORT=5101] [NODE=…]: set up, load reference and demo data, serve on http://127.0.0.1:$(PORT) (SQLite,
## eager tasks); QR codes and links point at that port unless TONGBAN_PUBLIC_URL says otherwise
PORT ?= 5000
PUBLIC_URL = TONGBAN_PUBLIC_URL="$${TONGBAN_PUBLIC_URL:-http://127.0.0.1:$(PORT)}"
run: db
	$(NODE_ENV) $(PUBLIC_URL) $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

## make flask NODE=140000 PORT=5001 ARGS="federation key --peers-file": one flask command as that node
flask: setup
	@$(NODE_ENV) $(PUBLIC_URL) $(BIN)/flask $(ARGS)

## make test: set up and run the whole suite (TONGBAN_DATABASE_URL selects PostgreSQL)
test: setup-test browser
	$(BIN)/python -m pytest

# The browser layer drives Debian's Chromium (never a downloaded browser) and needs a CJK font for
# readable screenshots. Installed when this machine lets us; otherwise the layer is skipped, said plainly.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] && echo "" || (command -v sudo >/dev/null && sudo -n true 2>/dev/null && echo sudo -n) || echo none)
browser:
	@if [ -x $(CHROMIUM) ] && fc-list 2>/dev/null | grep -qi wqy; then exit 0; fi; \
	if [ "$(SUDO)" != none ] && command -v apt-get >/dev/null; then \
	  echo "== installing Debian's chromium and fonts-wqy-microhei for the browser tests"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium fonts-wqy-microhei \
	  || echo "!! could not install chromium: the browser layer (tests/browser) will be skipped if it is missing"; \
	else \
	  [ -x $(CHROMIUM) ] && echo "!! no CJK font (fonts-wqy-microhei): browser screenshots will show boxes for Chinese" \
	    || echo "!! chromium is not installed and this user cannot install it: the browser layer (tests/browser) will be skipped"; \
	fi

## scale-out processes (TONGBAN_DATABASE_URL and TONGBAN_BROKER_URL set)
serve: setup
	$(BIN)/gunicorn --workers 4 --bind 127.0.0.1:5000 'app:create_app()'
worker: setup
	$(BIN)/celery --app app.celery_app worker --loglevel INFO
beat: setup
	$(BIN)/celery --app app.celery_app beat --loglevel INFO

## make bench [BENCH="--sizes 10000,100000 --only pages,tracking"]: every figure of issue 17 in one table and
## bench/results.json (SQLite 10k and 100k; PostgreSQL 10k, 100k and 1M when TONGBAN_BENCH_PG_URL is set or a
## local server lets user postgres createdb); the HTTP figure needs Debian's wrk, installed here when it can be
bench: setup-test
	@command -v wrk >/dev/null || { [ "$(SUDO)" != none ] && $(SUDO) apt-get install -y -q wrk; } \
	  || echo "!! wrk is not installed: the HTTP figure will be skipped"
	$(BIN)/python -m bench $(BENCH)

clean:
	rm -rf $(VENV) instance .pytest_cache
