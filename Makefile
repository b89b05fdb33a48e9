# cbassess: `make run` starts the app with demo data; `make test` runs the whole suite, on
# SQLite and, beside it, on a PostgreSQL server the tests start themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 5000

# Translations: one catalogue per language (see README, "Adding a language"). The compiled
# .mo files are built here, not committed.
TRANSLATIONS := cbassess/translations
TEMPLATE_POT := $(TRANSLATIONS)/messages.pot
CATALOGUES   := $(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po)
COMPILED     := $(CATALOGUES:.po=.mo)
# The same keywords as tests/test_i18n_catalogues.py extracts with.
EXTRACT_KEYWORDS := -k _l -k lazy_gettext

.PHONY: run test lint bench venv clean i18n catalogues

$(STAMP): pyproject.toml scripts/install.sh
	PYTHON=$(PYTHON) scripts/install.sh test
	touch $(STAMP)

venv: $(STAMP)

# A catalogue edited since the install is compiled again before the app or the tests run.
$(TRANSLATIONS)/%/LC_MESSAGES/messages.mo: $(TRANSLATIONS)/%/LC_MESSAGES/messages.po | $(STAMP)
	$(BIN)/pybabel compile --input-file $< --output-file $@

catalogues: $(COMPILED)

# Extract every message from the code and templates, bring each catalogue up to date (new
# messages arrive untranslated, changed ones marked fuzzy: the tests fail until a person
# translates them), and compile. `make i18n NEW=es` starts a Spanish catalogue first.
i18n: $(STAMP)
	$(BIN)/pybabel extract --mapping-file babel.cfg $(EXTRACT_KEYWORDS) \
		--add-comments Translators: --add-location file --sort-by-file \
		--project cbassess --output-file $(TEMPLATE_POT) .
	$(if $(NEW),test -e $(TRANSLATIONS)/$(NEW)/LC_MESSAGES/messages.po || \
		$(BIN)/pybabel init --input-file $(TEMPLATE_POT) --output-dir $(TRANSLATIONS) --locale $(NEW))
	$(BIN)/pybabel update --input-file $(TEMPLATE_POT) --output-dir $(TRANSLATIONS) \
		--ignore-obsolete
	$(BIN)/pybabel compile --domain messages --directory $(TRANSLATIONS)

run: $(STAMP) catalogues
	scripts/system-deps.sh run
	$(BIN)/flask --app cbassess seed-demo
	$(BIN)/flask --app cbassess run --host $(HOST) --port $(PORT)

test: $(STAMP) catalogues
	scripts/system-deps.sh test
	$(BIN)/ruff check cbassess migrations tests benchmarks
	PYTHON=$(BIN)/python scripts/run-tests.sh

lint: $(STAMP)
	$(BIN)/ruff check cbassess migrations tests benchmarks

# The full benchmark (see docs/PERFORMANCE.md); `make bench BENCH_ARGS=--quick` runs it small.
bench: $(STAMP)
	scripts/system-deps.sh bench
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts $(TEMPLATE_POT) $(COMPILED)
