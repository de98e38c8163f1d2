# VisitLens: the README's commands. `make demo` and `make test` are the quick start.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
DB ?= data/visitlens.duckdb
SIZE ?= small
PORT ?= 8050

.PHONY: setup system-deps demo serve test test-quick soak lint bench bench-clickhouse clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# Debian's Chromium (for the browser tests) and CJK fonts (for Chinese in screenshots).
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
		echo "Installing Debian packages chromium and fonts-noto-cjk ..."; \
		apt-get update -q >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk >/dev/null; \
	fi

demo: setup
	$(BIN)/visitlens --db $(DB) demo --size $(SIZE)
	$(BIN)/visitlens --db $(DB) serve --port $(PORT)

serve: setup
	$(BIN)/visitlens --db $(DB) serve --port $(PORT)

test: setup system-deps
	$(BIN)/pytest -q

test-quick: setup
	$(BIN)/pytest -q -m "not e2e and not soak"

soak: setup system-deps
	$(BIN)/pytest -q -m soak -p no:cacheprovider

# Ten million visits: builds the large demo once (data/cache), writes docs/PERFORMANCE.md.
bench: setup system-deps
	PYTHONPATH=. $(BIN)/python -m tests.perf.bench

# The report queries on chDB (ClickHouse's embedded engine) next to DuckDB: docs/SCALE.md.
bench-clickhouse: setup
	PYTHONPATH=. $(BIN)/python -m tests.perf.bench_clickhouse

lint: setup
	$(BIN)/ruff check pipelines dashboard tests
	$(BIN)/lint-imports
	$(BIN)/mypy pipelines dashboard

clean:
	rm -rf $(VENV) data/*.duckdb data/*.duckdb.wal test-artifacts
