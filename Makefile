# cbassess: `make run` starts the app with demo data; `make test` runs the whole suite, on
# SQLite and then on a PostgreSQL server the tests start themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test lint bench venv clean

$(STAMP): pyproject.toml scripts/install.sh
	PYTHON=$(PYTHON) scripts/install.sh test
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	scripts/system-deps.sh run
	$(BIN)/flask --app cbassess seed-demo
	$(BIN)/flask --app cbassess run --host $(HOST) --port $(PORT)

test: $(STAMP)
	scripts/system-deps.sh test
	$(BIN)/ruff check cbassess migrations tests benchmarks
	$(BIN)/python -m pytest
	CBASSESS_TEST_DATABASE=postgresql $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check cbassess migrations tests benchmarks

# The full benchmark (see docs/PERFORMANCE.md); `make bench BENCH_ARGS=--quick` runs it small.
bench: $(STAMP)
	scripts/system-deps.sh bench
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
