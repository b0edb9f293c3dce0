# Two commands for readers and CI:
#   make book   build the HTML book into _build/html (sets up .venv and the data first)
#   make test   unit tests, every notebook under nbval, the strict book build and the browser test
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: book test unit notebooks strict-book browser bench execute setup data clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

data: setup
	bash tools/ensure_data.sh $(PY)

book: data
	$(PY) -m jupyter_book build . --keep-going

test: data
	$(PY) -m pytest -q tests
	$(PY) -m pytest -q --nbval --nbval-current-env --nbval-sanitize-with tools/nbval_sanitize.cfg chapters

bench: data
	$(PY) -m mlp_utils.bench

clean:
	rm -rf _build
