# Two commands for a fresh clone: `make run` (the whole workflow on the embedded default)
# and `make test` (the test suite). Both create .venv and install the pinned dependencies first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all
# Rules call `python -m cnntopo.<step>`: the venv's python must come first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run test test-fast lint clean-results

$(BIN)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, by pip and pinned exactly: pip's configuration finds a local CPU wheel where there is
	# one, and nothing later may resolve torch to the index's CUDA build. uv installs the rest, the
	# pinned versions pip would pick, in 22 s where pip took 78 s here; byte-compiled, since a job cannot
	# cache bytecode where PYTHONDONTWRITEBYTECODE is set. pip compiles one file at a time (18 s of its
	# 28 s for torch), so compileall compiles what pip installed (pinned by constraints.txt, as uv's are,
	# so uv leaves it alone) on every core while uv installs; less sympy and mpmath, which only
	# torch.compile imports. One Python 3.12 test file of torch's fails to compile, as under pip: see the log.
	$(BIN)/python -m pip install --quiet --no-compile -c constraints.txt torch==2.13.0 uv==0.13.9
	site=$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))'); \
	installed=$$(ls -d $$site/* | grep -v -E '/(sympy|mpmath|pip|uv)[-_.0-9a-z]*$$'); \
	$(BIN)/python -m compileall -q -j 0 $$installed > $(VENV)/compileall.log 2>&1 & \
	$(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode -c constraints.txt -e '.[test,lint]' \
	&& { wait $$! || true; }
	# Upstream DeepDataProfiler, the tests' reference: without its dependencies (torch-lucent would
	# pull IPython and kornia for feature visualisation, which the comparison does not use).
	$(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode --no-deps deep-data-profiler==2.0.1 powerlaw==2.0.0
	touch $@

run: $(BIN)/.installed
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --report results/report.html
	@echo "Report: results/report.html"

test: $(BIN)/.installed
	$(BIN)/python -m pytest

# The inner loop: everything but the end-to-end Snakemake and SLURM runs (about a minute).
test-fast: $(BIN)/.installed
	$(BIN)/python -m pytest -m "not slow"

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint

clean-results:
	find results -mindepth 1 ! -name README.md -delete
