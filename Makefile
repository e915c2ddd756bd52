# citybus: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KAFKA_LIB := deploy/kafka/target/lib
KAFKA_STAMP := $(KAFKA_LIB)/.fetched

.PHONY: venv kafka-jars demo test unit integration bench lint typecheck schemas-check clean

venv: $(STAMP)
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

kafka-jars: $(KAFKA_STAMP)
$(KAFKA_STAMP): deploy/kafka/pom.xml
	cd deploy/kafka && mvn -q -B dependency:copy-dependencies -DoutputDirectory=target/lib -Dmdep.overWriteReleases=false
	@touch $(KAFKA_STAMP)

# headless Chromium and its driver, from Debian, for tests/browser
.PHONY: browser-deps
browser-deps:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)

# ruff (bug rules only, see [tool.ruff.lint]) and the import-linter contracts
lint: venv
	$(BIN)/ruff check services tests
	$(BIN)/lint-imports

# mypy, configured in pyproject.toml ([tool.mypy]: services/citybus)
typecheck: venv
	$(BIN)/mypy

schemas-check: venv
	$(BIN)/citybus schemas check

unit: venv
	$(BIN)/pytest -q tests/unit

test: venv kafka-jars browser-deps
	$(BIN)/ruff check services tests
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/citybus schemas check
	$(BIN)/pytest -q -p no:cacheprovider --durations=15 tests

demo: venv kafka-jars
	$(BIN)/citybus demo

# quixstreams pins pydantic<2.14 and pydantic-settings<2.16 (the project pins 2.14.3 / 2.16.3), so its
# peer runs in its own virtualenv; the bench itself needs the `bench` extra. BENCH_ARGS=--quick for a short run.
QUIX_VENV := .citybus/bench/quix-venv
QUIX_STAMP := $(QUIX_VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	@touch $(BENCH_STAMP)
$(QUIX_STAMP):
	@test -x $(QUIX_VENV)/bin/python || $(PY) -m venv $(QUIX_VENV)
	$(QUIX_VENV)/bin/python -m pip install -q --upgrade pip
	$(QUIX_VENV)/bin/python -m pip install -q quixstreams==3.28.1 rocksdict==0.3.29 fastavro==1.13.1 cloudevents==2.2.0 PyYAML
	@touch $(QUIX_STAMP)

bench: venv kafka-jars $(BENCH_STAMP) $(QUIX_STAMP)
	$(BIN)/citybus bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) deploy/kafka/target .citybus
