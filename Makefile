# Two commands for a fresh clone: `make run` (the whole workflow on the embedded default)
# and `make test` (the test suite). Both create .venv and install the pinned dependencies first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all
# Rules call `python -m cnntopo.<step>`: the venv's python must come first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run test test-fast lint docs clean-results

$(BIN)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# uv installs everything, pinned by constraints.txt (4 s here before compiling; pip took 78 s).
	# torch==2.13.0 must resolve to the local CPU wheel wherever pip's configuration provides one
	# (nothing may pull the index's CUDA build), so uv searches pip's find-links (environment and
	# config files) too.
	$(BIN)/python -m pip install --quiet --no-compile -c constraints.txt uv==0.13.9
	find_links="$${PIP_FIND_LINKS:-} $$($(BIN)/python -m pip config get global.find-links 2>/dev/null || true)"; \
	$(BIN)/uv pip install --python $(BIN)/python --quiet -c constraints.txt \
	  $$(for location in $$find_links; do printf -- '--find-links %s ' "$$location"; done) -e '.[test,lint,docs]'
	# Upstream DeepDataProfiler, the tests' reference: without its dependencies (torch-lucent would
	# pull IPython and kornia for feature visualisation, which the comparison does not use).
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps deep-data-profiler==2.0.1 powerlaw==2.0.0
	# Byte-compiled here, on every core, since a job cannot cache bytecode where PYTHONDONTWRITEBYTECODE
	# is set: the project's sources and what it installed, less what no job or test imports (pip; Cython
	# and setuptools, which ripser and torch require only to build; the packages' own test suites).
	# sympy stays in: a torch optimizer imports torch._dynamo and with it sympy, 3.3-4.8 s from source
	# against 0.5 s compiled, in every training job. A file that fails to compile (none here; torch's one
	# Python 3.12 file is in its test suite) is imported from source and named in the log.
	$(BIN)/python -m compileall -q -j 0 -x '/site-packages/((pip|Cython|setuptools)/|torch/testing/_internal/|.*/tests?/)' src \
	  $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') \
	  > $(VENV)/compileall.log 2>&1 || true
	touch $@

run: $(BIN)/.installed
	# A run killed before (SIGKILL, a closed terminal) leaves its lock: removed when no Snakemake runs here.
	$(BIN)/python -m cnntopo.workflow.locks .
	# A zip report keeps each file whole: the one-file report.html embeds pages as data: URLs, which
	# Chromium refuses in an iframe above 2 MiB (the mapper explorer is larger).
	$(BIN)/snakemake --cores $(CORES) --report results/report.zip --report-after-run
	$(BIN)/python -m zipfile -e results/report.zip results/
	@echo "Report: results/report/report.html"

test: $(BIN)/.installed
	$(BIN)/python -m pytest

# The inner loop: everything but the end-to-end Snakemake and SLURM runs (about a minute).
test-fast: $(BIN)/.installed
	$(BIN)/python -m pytest -m "not slow"

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/ruff format --check src tests benchmarks docs
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint

# The documentation site (docs/, mkdocs.yml) into build/site: offline, and --strict, so that a broken link or
# anchor fails; the configuration and benchmark pages are generated from the schema and benchmarks/results/.
docs: $(BIN)/.installed
	$(BIN)/mkdocs build --strict --quiet
	@echo "Docs: build/site/index.html"

clean-results:
	find results -mindepth 1 ! -name README.md -delete
