# The few verbs people need. Everything runs from a local virtual environment (.venv).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format bench clean

$(BIN)/glue: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(BIN)/glue

## run: set up, migrate, seed the demo data and serve on http://127.0.0.1:8000
run: $(BIN)/glue
	$(BIN)/glue db upgrade
	$(BIN)/glue demo
	$(BIN)/glue serve --host $(HOST) --port $(PORT)

## test: set up with the test extras and run the whole suite
test: $(BIN)/glue
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/glue
	$(BIN)/ruff check .

format: $(BIN)/glue
	$(BIN)/ruff format .

bench: $(BIN)/glue
	$(BIN)/python bench/orders.py
	$(BIN)/python bench/products.py
	$(BIN)/python bench/documents.py
	$(BIN)/python bench/webhooks.py
	$(BIN)/python bench/ui.py
	$(BIN)/python bench/sync_woocommerce.py stock
	$(BIN)/python bench/sync_magento.py idle

clean:
	rm -rf $(VENV) instance .pytest_cache
