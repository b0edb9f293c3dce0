# Two commands for readers and CI (see README.md):
#   make book   build the HTML book into _build/html
#   make test   unit tests, every notebook under nbval, the strict book build, the browser test
# Each sets up what it needs: the Python environment in .venv, the data, the front-end files.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The one CI switch: long sweeps in the exercises run fewer trials/epochs (see mlp_utils/config.py).
QUICK  ?= 1
# The notebook tests run under another seed and another BLAS thread count than the committed
# outputs (MLP_COURSE_SEED=0, the machine's default threads), so they show that no stored
# number is compared digit for digit and that every claim holds on another sample.
TEST_SEED    ?= 1
TEST_THREADS ?= 1
# The notebooks are tested as copies (tools/quick_copies.py): with QUICK=1 each cell's "quick"
# metadata shrinks its sizes, so the readers' cells hold the readers' settings only.
COPY_FLAGS := $(if $(filter 1,$(QUICK)),--quick)
# Two notebooks at a time (one kernel each, one BLAS thread each: TEST_THREADS), whole notebooks per worker.
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tools/nbval_sanitize.cfg -n 2 --dist loadfile

.PHONY: book test unit notebooks without-solutions browser setup data assets browser-deps execute bench lab lock tag clean

book: setup assets
	$(VENV)/bin/jupyter-book build . -W --keep-going

test: setup data assets browser-deps
	MLP_COURSE_QUICK=$(QUICK) $(PY) -m pytest -q tests --ignore=tests/browser
	$(MAKE) --no-print-directory notebooks without-solutions
	$(VENV)/bin/jupyter-book build . -W --keep-going
	$(PY) -m pytest -q tests/browser

# The unit tests without the slow ones (the Colab install test: a fresh venv and a notebook run).
unit: setup data
	$(PY) -m pytest -q tests --ignore=tests/browser -m "not slow"

notebooks: setup data
	$(PY) tools/quick_copies.py $(COPY_FLAGS) _build/notebooks
	MLP_COURSE_QUICK=$(QUICK) MLP_COURSE_SEED=$(TEST_SEED) OMP_NUM_THREADS=$(TEST_THREADS) \
	    $(PY) -m pytest -q $(NBVAL) -p no:cacheprovider _build/notebooks/chapters

# Every notebook again with its solution cells removed: a reader who skips every exercise can
# still run each notebook to the end (an unwritten fill-in's check says so without raising).
without-solutions: setup data
	$(PY) tools/quick_copies.py $(COPY_FLAGS) --without-solutions _build/without_solutions
	MLP_COURSE_QUICK=$(QUICK) MLP_COURSE_SEED=$(TEST_SEED) OMP_NUM_THREADS=$(TEST_THREADS) \
	    $(PY) -m pytest -q $(NBVAL) -p no:cacheprovider _build/without_solutions/chapters

browser: setup assets browser-deps book
	$(PY) -m pytest -q tests/browser

# Re-execute every notebook in place (readers' settings) and save outputs and widget state.
execute: setup data
	$(PY) tools/execute_notebooks.py

bench: setup data
	$(PY) tools/bench.py

setup: $(STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml _ext/pyproject.toml tools/jupyter/overrides.json
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -c constraints.txt
	$(PY) -m pip install -q --no-deps -e .
	# the book's Vega-Lite renderer, registered with myst-nb through its entry point
	$(PY) -m pip install -q --no-deps -e _ext
	# JupyterLab in this venv: widget state saved with the notebook, no news pop-up
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp tools/jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $@

# JupyterLab on the notebooks: trusted (their saved widgets and outputs render on first open);
# --allow-root because Jupyter refuses to start as root without it (containers, CI machines).
lab: setup data
	$(VENV)/bin/jupyter trust chapters/*.ipynb
	$(VENV)/bin/jupyter lab $$( [ "$$(id -u)" -eq 0 ] && echo --allow-root ) chapters

data: setup
	bash tools/ensure_data.sh $(PY)

assets:
	bash tools/vendor_assets.sh

browser-deps:
	@command -v $${CHROMIUM:-/usr/bin/chromium} >/dev/null || { \
	    SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

# Re-lock the environment after changing requirements.txt: install it unconstrained in a fresh
# venv and write every installed version to constraints.txt.
lock:
	rm -rf $(VENV)-lock
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/python -m pip install -q --upgrade pip
	$(VENV)-lock/bin/python -m pip install -q -r requirements.txt
	{ sed -n '1,3p' constraints.txt; $(VENV)-lock/bin/python -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(VENV)-lock

# Tag the commit with the package's version; the notebooks' install cells name this tag.
tag:
	git tag "v$$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)"

clean:
	rm -rf _build _vendor
