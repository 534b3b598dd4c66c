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
	$(BIN)/pip install --quiet -e '.[dev,postgres,s3,ml,batch,recs,llm,creative]'
# MovieLens-100K for the recommender tests, read from inside the recbole wheel; only the
# data is used, so none of recbole's dependencies (its licence forbids copying the data
# into this repository)
	$(BIN)/pip install --quiet --no-deps 'recbole==1.2.1'
	touch $(STAMP)

# the web UI's front-end packages, from npm at install time into its static files
# (decision 040); the browser tests read axe-core from node_modules
UI       := vitrina/ui
UI_STAMP := $(UI)/node_modules/.installed
$(UI_STAMP): $(UI)/package.json $(UI)/package-lock.json
	cd $(UI) && npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(UI)/static/vendor
	cp $(UI)/node_modules/htmx.org/dist/htmx.min.js $(UI)/node_modules/tus-js-client/dist/tus.min.js \
	   $(UI)/node_modules/hls.js/dist/hls.min.js $(UI)/static/vendor/
	touch $@

install: $(STAMP) $(UI_STAMP)

## run: development server on 127.0.0.1:8000 with the demo photos ingested on first run;
## its settings (development mode, a URL signing key) go to var/vitrina.toml, which
## every `.venv/bin/vitrina ...` run from this directory reads too
run: $(STAMP) $(UI_STAMP)
	@echo "Open http://127.0.0.1:8000/ (the web UI), http://127.0.0.1:8000/docs (API) and http://127.0.0.1:8000/v1/assets (the demo photos)"
	$(BIN)/vitrina dev --demo data/photos

## test: the whole suite (PostgreSQL tests run when VITRINA_TEST_PG_URL is set)
test: $(STAMP) $(UI_STAMP)
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
