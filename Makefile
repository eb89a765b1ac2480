# screencodec: `make demo` runs the main job, `make test` the test suite.
# Both set up everything they need on a fresh Debian machine (scripts/bootstrap.sh).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TOOLS := $(VENV)/.build-tools
STAMP := $(VENV)/.installed

.PHONY: setup build debug test test-prep demo bench lint wheels clean corpus

# Two steps (scripts/bootstrap.sh): what the build needs, then the project's
# dependencies, which `make -j2 build setup` installs while the extensions
# compile.
$(TOOLS): pyproject.toml setup.py scripts/bootstrap.sh
	PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/bootstrap.sh --tools
	touch $@

$(STAMP): $(TOOLS)
	PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/bootstrap.sh --project
	touch $@

setup: $(STAMP)

build: $(TOOLS)
	$(PY) setup.py -q build_ext --inplace

# Cython line tracing, bounds checks and annotation: for profiling and debugging.
debug: $(TOOLS)
	SCREENCODEC_DEBUG=1 SCREENCODEC_ANNOTATE=1 $(PY) setup.py -q build_ext --inplace --force

# The tests run in three processes a core, at most 6 (pytest-xdist): about
# 40% of their time is waiting (real bounds, sockets, X servers, Chromium),
# and with one process more than the cores 2 cores were busy 77% of the
# time (stop 34). Each file's tests stay in one process, in their order, as
# when run alone. On 2 cores, fresh clones: make test 15.3 min (tests 13.1)
# with 3 processes, stop 33; 13.6 and 15.2 min (tests 11.4 and 12.9, 3,794
# tests) with 4 and the compiled sources below, stop 34; 13.9 and 13.5 min
# (tests 11.4 and 11.0, 3,902 tests) with the collection below, one
# Chromium a process (tests/web/conftest.py) and no spinning OpenBLAS
# threads (tests/conftest.py), stop 35. Stop 44, fresh clones of 1b881cc9 on
# a quiet 2-core machine, 4,814 tests: 4 processes, make test 932 s (tests
# 853); 6 processes, 776 s (tests 703), both passing: most of the slowest
# files wait on the product's own limits (time44's --file-times). Stop 50,
# fresh clone of e9ec4146, 4,966 tests: 6 processes, make test 989 s (tests
# 879 s, the 2 cores 10% idle); the same tree with 8, tests 864 s and two
# timing tests failed under the load (test_file_pacing, linkbench/test_steps): 6 stays.
# Stop 51, fresh clones, 5,011 tests, 6 processes: make test 982 s (tests
# 881) with every CLI start an exec; 902 s (tests 795) with the warm
# starter (tests/warm_start.py), the same machine 17 minutes later.
# Stop 52, fresh clones, 5,095 tests: make test 962 s (tests 868) and
# 1,006 s (tests 915), the unchanged codec/video/motion tests at 1.05-1.14x
# and 1.27-1.32x the CPU time they took in stop 51's 888 s run (the
# machine's speed); 22 new files, 213 s of wall and 41 s of CPU summed.
# Stop 53 (CI ran stop 52's tree in 1,032 s): fresh clones, 5,084 tests,
# make test 1,029 s (tests 909 s), the 2 cores 97% busy over the tests where
# stop 52's tree had them 89% busy (1,015 s, tests 915 s, on a machine whose
# unchanged computing tests took 0.95x the CPU time): the files' new order
# and the 15 files cut fill the cores, and the wall now follows the CPU.
# Stop 54 (CI: stop 53's tree 1,014 s): fresh clone, 5,120 tests, make test
# 911 s (tests 820 s, setup 91 s: build beside pip), the unchanged computing
# tests at 0.96x fresh146's CPU; every process's CPU per file (--file-times'
# tree column) 1,464 s, where main's at the stop's start was 1,687 s.
#
# The files go out longest first, no more than two that mostly wait among
# any six (tests/slow_first.py, from each file's measured wall and CPU in
# tests/file_costs.tsv: six waiting files side by side left the 2 cores half
# idle, fresh144); --no-loadscope-reorder keeps xdist from ordering files by
# their number of tests, which put the few-test slow files last: the fresh
# clone of d8fdd03 spent a third of its 891 s on the last 13% of the tests.
TEST_JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); n=$$((3 * n)); [ $$n -gt 6 ] && n=6; echo $$n)

# The tests start hundreds of Python processes (hosts, viewers, relays).
# Where PYTHONDONTWRITEBYTECODE is set (this project's machines set it) each
# compiled the package's sources again: 0.2 s of CPU a process, a fifth of a
# CLI test's. compileall writes them once (into __pycache__, which git
# ignores); Python reads them even where it writes none.
#
# pytest rewrites the asserts of each test module it imports, and each of the
# processes imports every module (xdist has each collect the whole suite):
# 21 s of CPU a process where nothing may be cached, 7 s reading the rewritten
# modules. Two collections, side by side, write them once (into __pycache__);
# either failing stops make test there, before the suite (review44).
#
# lint's mypy computes on one core (14 s of CPU, cold, time44) and the
# wheel's build mostly on one: they run side by side with the wheel, the
# compiled sources and the collections (test-prep), each target's output
# kept together. The tests start once both are done (test_typing reads
# mypy's cache). The Debian packages only the tests use were installed in
# the background meanwhile (scripts/bootstrap.sh): the suite waits for them.
test:
	$(MAKE) --no-print-directory -j2 --output-sync=target build setup
	$(MAKE) --no-print-directory -j2 --output-sync=target lint test-prep
	PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/bootstrap.sh --wait
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_JOBS) --dist loadfile --no-loadscope-reorder tests

test-prep: wheels
	$(PY) -m compileall -q src/screencodec
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -q -p no:cacheprovider --collect-only tests/transport >/dev/null & \
	transport=$$!; \
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -q -p no:cacheprovider --collect-only --ignore=tests/transport tests >/dev/null \
	&& wait $$transport \
	|| { echo "collecting the tests failed: $(PY) -m pytest --collect-only tests says why" >&2; exit 1; }

demo:
	$(MAKE) --no-print-directory -j2 --output-sync=target build setup
	$(VENV)/bin/screencodec demo

bench: build setup
	$(PY) -m pytest -q -p no:cacheprovider benchmarks --benchmark-only --benchmark-columns=min,median,max,rounds
	$(VENV)/bin/screencodec bench --json benchmarks/results.json

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks setup.py
	$(VENV)/bin/mypy

wheels: $(STAMP)
	# The wheel packs the .so files `make build` linked in build/lib.* (setup.py
	# rebuilds them when its switches change); only the Python files are copied again.
	rm -rf build/wheel-raw build/bdist.* wheels/*.whl
	[ ! -d build ] || find build -path 'build/lib.*' -type f ! -name '*.so' -delete
	$(PY) -m pip wheel -q --no-deps --no-build-isolation -w build/wheel-raw .
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/auditwheel repair -w wheels build/wheel-raw/screencodec-*.whl \
		|| cp build/wheel-raw/screencodec-*.whl wheels/
	@ls wheels/*.whl

# The real-screen corpus (docs/corpus.md): real apps under Xvfb, recorded into corpus/.
corpus: build setup
	$(PY) scripts/record_corpus.py --out corpus

clean:
	rm -rf build dist wheels/*.whl src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .benchmarks
	find src -name '*.so' -delete
	find src/screencodec -name '*.pyx' | sed 's/\.pyx$$/.c/' | xargs rm -f
	find src/screencodec -name '*.pyx' | sed 's/\.pyx$$/.html/' | xargs rm -f  # Cython's annotations, not the web page
