# samtale — two commands do all set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
CYCLE  ?= 2027
N      ?= 10000
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup system-deps demo test lint format bench bench-cycle clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: $(STAMP) system-deps ## Create .venv, install samtale, LibreOffice and poppler

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

system-deps: ## Install LibreOffice (Debian 12: 25.2 from backports), poppler… (as root)
	@bash tools/install_system_deps.sh

demo: setup ## Run a whole review cycle on the sample data in input/
	@bash tools/demo.sh $(CYCLE)

test: setup lint ## Lint, then run every test (LibreOffice ones included)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q $(PYTEST_ARGS)

lint: $(STAMP) ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## Let ruff fix what it can and format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup ## Benchmarks against naive baselines measured in the same run
	PYTHONPATH=. $(BIN)/python tools/bench.py

bench-cycle: setup ## A whole cycle for N employees (N=10000): time and memory per stage
	PYTHONPATH=. $(BIN)/python tools/bench_cycle.py --employees $(N)

clean: ## Remove .venv and caches (never output/ — it holds personal data)
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
