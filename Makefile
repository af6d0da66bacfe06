# Gongdan: `make run` starts a demo appliance, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export GONGDAN_CONFIG ?= $(CURDIR)/var/gongdan.toml

.PHONY: run test venv translations test-deps services lint bench clean messages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile -d webapp/translations -f >/dev/null

run: venv translations
	@mkdir -p var
	$(BIN)/gongdan init
	@if [ ! -f var/.demo-loaded ]; then \
		$(BIN)/gongdan demo load && touch var/.demo-loaded; \
	else echo "demo data already loaded (logins: var/demo-logins.txt)"; fi
	@$(BIN)/gongdan worker > var/worker.log 2>&1 & echo $$! > var/worker.pid
	@echo "worker started (log: var/worker.log)"
	@echo ""
	@echo "  Gongdan is at http://$$($(BIN)/gongdan config show | sed -n "s/^bind = '\(.*\)'.*/\1/p")/"
	@echo "  Log in as an agent with a demo login above (or in var/demo-logins.txt),"
	@echo "  or as admin with the one-time password printed by 'gongdan init'."
	@echo ""
	@trap 'kill $$(cat var/worker.pid) 2>/dev/null' EXIT INT TERM; $(BIN)/gongdan serve

# Debian packages the browser tests need (Chromium drives the end-to-end test).
test-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

# PostgreSQL and Redis run on this kind of machine; start them if they are down.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no

lint: venv
	$(BIN)/lint-imports

test: venv translations test-deps services lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: venv translations
	$(BIN)/python bench/run_all.py

clean:
	rm -rf var test-output .pytest_cache

# Refresh the message catalogs after changing user-facing strings.
messages: venv
	$(BIN)/pybabel extract -k N_ -k lazy_gettext -F babel.cfg -o webapp/translations/messages.pot webapp >/dev/null
	for l in zh_CN en; do $(BIN)/pybabel update -i webapp/translations/messages.pot -d webapp/translations -l $$l; done
