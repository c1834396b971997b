# gainakt: executable research report. `make help` lists the targets.
SHELL := bash
.DEFAULT_GOAL := help

VENV   ?= .venv
PY     := $(VENV)/bin/python
JB     := $(VENV)/bin/jupyter-book
STEP   := scripts/step.sh
# Data lives beside the clone (../shared/data) unless GAINAKT_DATA says otherwise.
export GAINAKT_DATA ?= $(abspath $(CURDIR)/../shared/data)
# The headless-Chromium check of the built book always runs (Chromium is installed with apt-get when
# missing; `make test` fails if that is impossible). Only an explicit BROWSER_CHECK=0 skips it.
BROWSER_CHECK ?= 1
# Run pages (book/runs/, one per run, two templates) the browser check opens: sample (the first and
# the last per dataset and template), all, or a number per dataset and template.
RUN_PAGES ?= sample
# Extra arguments for `make experiments`, e.g. ARGS="--variant V0 --force".
ARGS ?=

.PHONY: help venv test test-unit test-slow test-notebooks book test-browser experiments bench clean distclean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

venv: $(VENV)/.installed  ## create .venv and install the project with its book and test extras

# torch first and exact: the CPU wheel is on local disk; letting pip resolve
# torch through a range would download the CUDA build (GBs).
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install torch==2.13.0
	$(PY) -m pip install -e ".[book,test]"
	touch $@

test: test-unit test-slow test-notebooks book test-browser  ## every check, as CI runs them (BROWSER_CHECK=0: all but the browser)
	@echo "==> make test: unit, slow, notebooks, book$(if $(filter 0,$(BROWSER_CHECK)), (browser check SKIPPED: BROWSER_CHECK=0),, browser) passed"

test-unit: $(VENV)/.installed  ## unit tests (tests/, without the browser tests and the `slow` ones): under 2 min
	@$(STEP) --no-tests-ok unit $(PY) -m pytest tests --ignore=tests/browser -m "not slow"

test-slow: $(VENV)/.installed  ## the `slow` tests: end-to-end driver runs with Dask and the real training notebook
	@$(STEP) --no-tests-ok slow $(PY) -m pytest tests --ignore=tests/browser -m slow

test-notebooks: $(VENV)/.installed  ## papermill-prepared smoke runs (nbval-lax) + strict nbval on analysis_*
	@$(STEP) notebooks $(PY) scripts/run_notebook_checks.py

book: $(VENV)/.installed  ## build the book from scratch (--all: opted-in notebooks re-run; warnings are errors)
	@$(STEP) book $(PY) -m gainakt.book build --all

test-browser: $(VENV)/.installed  ## headless Chromium: figures, widgets and math of the built book render offline
ifeq ($(BROWSER_CHECK),0)
	@echo "==> [browser] SKIPPED (BROWSER_CHECK=0)"
else
	@$(STEP) chromium scripts/ensure_chromium.sh
	@REQUIRE_BROWSER=1 $(STEP) browser-tests $(PY) -m pytest tests/browser
	@REQUIRE_BROWSER=1 $(STEP) browser $(PY) tests/browser/check_book.py --build _build/html --out _build/screenshots \
		--run-pages $(RUN_PAGES) --click book/exploration/explore.html
endif

experiments: $(VENV)/.installed  ## run the training notebooks with the driver into book/runs/ (long)
	$(PY) -m gainakt.book run $(ARGS)

bench: $(VENV)/.installed  ## epoch-time benchmark
	$(PY) benchmarks/bench_epoch.py

clean:  ## remove build outputs (_build: HTML, execution cache, screenshots, prepared notebooks)
	rm -rf _build .pytest_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean  ## clean, and remove the virtual environment
	rm -rf $(VENV) *.egg-info

# --- Slurm (issue 23) --------------------------------------------------------------------
# tests/test_slurm.py starts a single-node Slurm itself (scripts/slurm_local.sh start --install:
# apt-get install slurm-wlm munge when missing) and is part of test-unit, where it is skipped
# with a printed reason if Slurm cannot be installed. This target runs it alone and fails
# instead of skipping.
.PHONY: test-slurm slurm-up slurm-down
test-slurm: $(VENV)/.installed  ## the matrix on a single-node Slurm via dask-jobqueue (fails if Slurm is unavailable)
	@$(STEP) slurm env GAINAKT_REQUIRE_SLURM=1 $(PY) -m pytest tests/test_slurm.py

slurm-up:  ## start the single-node Slurm (SLURM_CONF=/tmp/gainakt-slurm/slurm.conf)
	scripts/slurm_local.sh start --install

slurm-down:  ## stop it
	scripts/slurm_local.sh stop
