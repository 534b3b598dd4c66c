# The two commands a newcomer needs: `make run` and `make test`.
PY       ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
export VITRINA_DATA_DIR ?= var

.PHONY: run test install bench peers lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet -e '.[dev,postgres,s3]'
	touch $(STAMP)

install: $(STAMP)

## run: development server on 127.0.0.1:8000 with the demo photos ingested on first run
run: $(STAMP)
	VITRINA_DEV=1 $(BIN)/vitrina db upgrade
	@test -f $(VITRINA_DATA_DIR)/.demo-ingested || { \
	  VITRINA_DEV=1 $(BIN)/vitrina ingest data/photos && touch $(VITRINA_DATA_DIR)/.demo-ingested; }
	@echo "Open http://127.0.0.1:8000/docs (API) and http://127.0.0.1:8000/v1/assets (the demo photos)"
	VITRINA_DEV=1 $(BIN)/vitrina serve

## test: the whole suite (PostgreSQL tests run when VITRINA_TEST_PG_URL is set)
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

## peers: build gbstats' and obp's own virtualenvs and regenerate tests/experiments/reference/*.json
peers:
	bash peers/make_references.sh

lint: $(STAMP)
	$(BIN)/ruff check vitrina tests bench

clean:
	rm -rf $(VENV) var .pytest_cache
