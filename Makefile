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

setup-dev: setup $(VENV)/.installed-dev

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt
	$(PIP) install -r requirements-dev.txt
	touch $@

run: setup
	@PYTHONPATH=src $(PY) -m askservice.config >/dev/null
	$(VENV)/bin/gunicorn -c deploy/gunicorn.conf.py --chdir src app:app

test: setup-dev node-openai
	$(PY) -m pytest

# The Node `openai` SDK for the runs walkthrough (4.x still ships beta.assistants / beta.threads).
NODE_OPENAI := .cache/node/openai
.PHONY: node-openai
node-openai: $(NODE_OPENAI)/.installed

$(NODE_OPENAI)/.installed:
	mkdir -p $(NODE_OPENAI)
	npm install --prefix $(NODE_OPENAI) --no-audit --no-fund --loglevel=error openai@4.104.0
	touch $@

clean:
	rm -rf $(VENV) .cache .pytest_cache
