# Two commands: `make demo` runs the main job on embedded defaults, `make test` runs every test.
# Both create .venv and install what they need on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The browser tests drive Debian's Chromium through Playwright, never a downloaded browser.
CHROMIUM := /usr/bin/chromium

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,guardrails]'
	touch $(STAMP)

$(CHROMIUM):
	$$([ "$$(id -u)" = 0 ] || echo sudo) apt-get update -qq
	$$([ "$$(id -u)" = 0 ] || echo sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

demo: $(STAMP)
	$(BIN)/proctor demo

test: $(STAMP) $(CHROMIUM)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench.latency
	$(BIN)/python -m bench.audit_throughput
	$(BIN)/python -m bench.accuracy
	$(BIN)/python -m bench.semantic_accuracy
	$(BIN)/python -m bench.kb_bench
	$(BIN)/python -m bench.persona_latency
	$(BIN)/python -m bench.load_sessions
	$(BIN)/python -m bench.loop_cost
	$(BIN)/python -m bench.writer_round_trip
	$(BIN)/python -m bench.page_reads

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
