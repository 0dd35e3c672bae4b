# The newcomer contract: `make run` serves on 127.0.0.1:5001, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: setup setup-dev run test bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.txt
	touch $@

setup-dev: setup $(VENV)/.installed-dev dynamodb-local

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt
	$(PIP) install -r requirements-dev.txt
	touch $@

# DynamoDB Local for the store tests: the jar inside the npm package amplify-dynamodb-simulator
# (fetched with npm, unpacked without its Node dependencies). It needs Java 17+.
DYNAMODB_LOCAL_VERSION := 2.9.30
DYNAMODB_LOCAL := .cache/dynamodb-local
.PHONY: dynamodb-local
dynamodb-local: $(DYNAMODB_LOCAL)/.installed-$(DYNAMODB_LOCAL_VERSION)

$(DYNAMODB_LOCAL)/.installed-$(DYNAMODB_LOCAL_VERSION):
	@command -v java >/dev/null || { echo "java is missing: apt-get install -y openjdk-17-jre-headless" >&2; exit 1; }
	rm -rf $(DYNAMODB_LOCAL) && mkdir -p $(DYNAMODB_LOCAL)
	cd $(DYNAMODB_LOCAL) && npm pack --silent --loglevel=error amplify-dynamodb-simulator@$(DYNAMODB_LOCAL_VERSION) >/dev/null \
		&& tar xzf amplify-dynamodb-simulator-$(DYNAMODB_LOCAL_VERSION).tgz && rm amplify-dynamodb-simulator-$(DYNAMODB_LOCAL_VERSION).tgz
	test -f $(DYNAMODB_LOCAL)/package/emulator/DynamoDBLocal.jar
	touch $@

run: setup
	@PYTHONPATH=src $(PY) -m askservice.config >/dev/null
	$(VENV)/bin/gunicorn -c deploy/gunicorn.conf.py --chdir src app:app

test: setup-dev node-openai system-tools
	$(PY) -m pytest

# The Node `openai` SDK for the Node walkthroughs (tests/web/node/: runs, responses). 6.49.0 is the
# last release for Node 20 (7.x declares engines node >=22; 6.x supports Node 20 LTS and later) and
# ships all they use in one version: beta.assistants / beta.threads, responses (stream, parse
# without zod) and conversations. The marker names the version, so changing it reinstalls.
NODE_OPENAI := .cache/node/openai
NODE_OPENAI_VERSION := 6.49.0
.PHONY: node-openai
node-openai: $(NODE_OPENAI)/.installed-$(NODE_OPENAI_VERSION)

$(NODE_OPENAI)/.installed-$(NODE_OPENAI_VERSION):
	mkdir -p $(NODE_OPENAI)
	rm -f $(NODE_OPENAI)/.installed*
	npm install --prefix $(NODE_OPENAI) --no-audit --no-fund --loglevel=error --save-exact openai@$(NODE_OPENAI_VERSION)
	touch $@

# Caddy and shellcheck from the distribution for tests/deploy (installed only when missing). If
# apt cannot install one, say so loudly and leave a marker: its tests then fail, naming the command.
SYSTEM_TOOLS := caddy shellcheck
.PHONY: system-tools
system-tools:
	@mkdir -p .cache/unavailable; missing=""; \
	for t in $(SYSTEM_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then echo "installing$$missing (apt-get)"; \
		(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing) || true; fi; \
	for t in $(SYSTEM_TOOLS); do if command -v $$t >/dev/null; then rm -f .cache/unavailable/$$t; else \
		echo "*** WARNING: could not install $$t (apt-get install -y $$t): its tests will FAIL ***" >&2; \
		touch .cache/unavailable/$$t; fi; done

# The production process set in the foreground, socket, pid and logs in ./var: `make supervise`
# (`.venv/bin/supervisorctl -c supervisord.conf status` beside it).
.PHONY: supervise
supervise: setup
	$(VENV)/bin/supervisord -c supervisord.conf

clean:
	rm -rf $(VENV) .cache .pytest_cache
