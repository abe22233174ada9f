# The two commands: `make demo` and `make test`. Each creates .venv when it is missing.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := runs/demo

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python >= 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned: the package's torch range is then already satisfied.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

# Train the Even Pixels preset on CPU, sample a PNG grid, evaluate, print the metrics.
demo: $(STAMP)
	$(BIN)/ponder train even_pixels --out $(DEMO) --force
	$(BIN)/ponder sample $(DEMO) --num-samples 64 --out $(DEMO)/samples
	$(BIN)/ponder evaluate $(DEMO) --num-samples 256

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/suite.py

clean:
	rm -rf $(VENV) runs .pytest_cache
