# The two commands a newcomer needs:  make run   and   make test
# While editing: make test-fast (unit tier, seconds) and make lint (ruff and mypy, as CI runs them).
PYTHON ?= python3
# The offline mirror of the default corpus, used instead of the network when present.
MIRROR ?= $(wildcard ../shared/corpus)
# llama-cpp-python compiles from source (about 5 minutes, once; pip caches the wheel). A native
# build (-march=native) crashed with a segfault on our machines, so it is built portable.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
PIP_INSTALL = $(PYTHON) -m pip install --quiet --disable-pip-version-check

.PHONY: install install-test run ingest lint test test-fast bench

# The code CI checks; ruff and mypy come with the test extra (make install-test). ruff checks
# everything; mypy the product (the tests, benchmarks and scripts are not annotated for it).
RUFFED = kb ingest ui app.py tests bench scripts
TYPED = kb ingest ui app.py

install:
	$(PIP_INSTALL) torch==2.13.0 -e .

install-test:
	$(PIP_INSTALL) torch==2.13.0 -e ".[test]"

ingest: install
	$(PYTHON) -m kb ingest $(if $(MIRROR),--mirror $(MIRROR))

# The app reads the mirror too, so that "Refresh" on its Corpus page works offline.
run: ingest
	$(if $(MIRROR),KB_MIRROR=$(abspath $(MIRROR))) $(PYTHON) -m streamlit run app.py \
		--server.headless true --browser.gatherUsageStats false

lint:
	$(PYTHON) -m ruff check $(RUFFED)
	$(PYTHON) -m mypy $(TYPED)

test: install-test
	$(PYTHON) -m pytest -q

# The unit tier for the edit loop: no real corpus, browser, other processes or real model (the
# hashing embedder stands in); the markers are explained in tests/tiers.py.
test-fast:
	KB_EMBED_BACKEND=hash $(PYTHON) -m pytest -q -m "not corpus and not slow and not browser and not subprocess"

bench: install
	$(PYTHON) bench/ingest.py $(if $(MIRROR),--mirror $(MIRROR))
	$(PYTHON) -m kb eval bench/questions.jsonl
	$(PYTHON) bench/answer.py
