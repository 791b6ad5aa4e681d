# Alcance: the two commands a new machine needs.
#   make run   install, upgrade the database, seed, create a first admin, serve on http://127.0.0.1:5000
#   make test  install what the tests need and run them on SQLite and (when reachable) PostgreSQL
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2

.PHONY: run test install install-test translations extract-messages audit system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# WeasyPrint (the PDF delivery dossier) needs Debian's pango and a font.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core

system-packages:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

install: $(BIN)/python system-packages
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	$(MAKE) --no-print-directory translations

install-test: $(BIN)/python system-packages
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	$(MAKE) --no-print-directory translations
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@# axe-core, which the browser tests inject into pages (package-lock.json pins it; never served to users).
	@command -v npm >/dev/null 2>&1 || { \
	  echo "installing Debian's npm for the browser tests' accessibility checks"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm >/dev/null; }
	npm ci --no-audit --no-fund --silent

translations:
	$(BIN)/pybabel compile --use-fuzzy --statistics -d crm/translations

extract-messages:
	$(BIN)/pybabel extract --no-location --ignore-dirs='.* __pycache__ .venv' -F babel.cfg -k _l -k lazy_gettext -k N_ -o crm/translations/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching --width 100 -i crm/translations/messages.pot -d crm/translations

run: export ALCANCE_ENV ?= development
# One scheduler process beside the web server: web workers never run jobs (each would run every job again).
run: install
	$(BIN)/flask --app wsgi setup
	@$(BIN)/flask --app wsgi scheduler run & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null; wait $$scheduler' EXIT INT TERM; \
	$(BIN)/gunicorn -c python:crm.serving --workers $(WORKERS) --bind $(HOST):$(PORT) wsgi:app

test: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	BIN=$(BIN) .ci/security-checks
	$(BIN)/pytest

audit: install-test
	BIN=$(BIN) REQUIRE_PIP_AUDIT=1 .ci/security-checks
