# Every target builds the project-local virtual environment (.venv) from the lock when it is missing or stale.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
WHEELHOUSE_DIR ?= dist/wheelhouse
SYNCED := $(VENV)/.synced
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Bytecode is cached in var/pycache for every target (the demo, the tests, every tier): each Python process that
# imports Airflow would otherwise compile ~2,000 modules again (~3 s of CPU), where the environment forbids writing
# .pyc files beside the sources.
unexport PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX := $(CURDIR)/var/pycache

.PHONY: demo ui test test-metrics test-slow test-vendors test-hostile test-console-fuzz test-scheduler test-browser test-distributed test-pg15 chaos bench profile lint format clean venv wheelhouse test-wheelhouse test-images catalog

$(SYNCED): pyproject.toml uv.lock
	@test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet uv==$(UV_VERSION); }
	$(BIN)/uv sync --frozen --quiet
	@touch $@

venv: $(SYNCED)

## The main job: the demo sync on embedded defaults (database, simulators, Airflow dag.test()).
demo: $(SYNCED)
	$(BIN)/onestop demo

## The administrators' console: embedded database, simulators, a sync that leaves failures, Airflow's components;
## all on 127.0.0.1 only.
## Prints URL, user and password; Ctrl-C stops everything.
ui: $(SYNCED)
	$(BIN)/onestop ui $(UI_ARGS)

## The test suite (real PostgreSQL, real HTTP servers, real Airflow dag.test()); ~5 minutes on 2 cores (limit 12).
## Two pytest workers (pytest-xdist, a test file each at a time), each with its own embedded PostgreSQL and Airflow
## home: run alone, the suite leaves a core idle half the time (it waits on servers and subprocesses).
TEST_WORKERS ?= 2
## The suite make test and make test-pg15 run: everything but the slower tiers, in TEST_WORKERS workers.
SUITE = -n $(TEST_WORKERS) --dist loadfile -m "not scheduler and not browser and not distributed and not wheelhouse and not slow"
test: $(SYNCED)
	$(BIN)/lint-imports --no-cache  # the layers contract (pyproject.toml, [tool.importlinter])
	$(BIN)/ruff check --quiet . && $(BIN)/ruff format --check --quiet .
	$(BIN)/pytest $(SUITE)

## Any REST district system by configuration: each vendor in tests/vendors (its own server, registry entry,
## mapping, connection) synced and compared field by field with its ground truth; ≤ 90 s.
test-vendors: $(SYNCED)
	$(BIN)/python -m tests.vendors.report

## Bad input never stops a source: every hostile input of tests/hostile/inputs.yaml (JSON, XML, SOAP 1.1/1.2, feed, CSV, XML-RPC, xlsx, GraphQL)
## and BLNS + hypothesis records through the real sync path, each against its declared outcome; last two lines
## `hostile: …` and `generated: …`. HOSTILE=quick (derandomized, ≤ 120 s) or HOSTILE=long (more, random seeds).
HOSTILE ?= quick
test-hostile: $(SYNCED)
	$(BIN)/python -m tests.hostile.report $(if $(filter long,$(HOSTILE)),--long,)

## The administrators' console under property-based requests (schemathesis): every operation through Airflow's
## API app with the plugin mounted and its real login, as admin and as viewer; last line `console fuzz: …`.
## FUZZ=quick (a fixed seed, ≤ 60 s; `make test` runs it too) or FUZZ=long (ten times the requests, a random seed).
FUZZ ?= quick
test-console-fuzz: $(SYNCED)
	$(BIN)/python -m tests.onestop.console.fuzz $(if $(filter long,$(FUZZ)),--long,)

## Slower tier: whole second end-to-end runs (the demo again with the same seed: nothing new loaded or sent).
test-slow: $(SYNCED)
	$(BIN)/pytest -m slow

## Slower tier: the real Airflow scheduler (LocalExecutor) with PostgreSQL metadata.
test-scheduler: $(SYNCED)
	$(BIN)/pytest -m scheduler

## The per-source metrics (also part of `make test`): a sync, a delivery and the onestop_metrics DAG through
## dag.test(), read back on a local StatsD listener.
test-metrics: $(SYNCED)
	$(BIN)/pytest tests/onestop/airflow/test_metrics.py

## Slower tier: the console in a real browser (Debian's Chromium, driven by Playwright) against `make ui`'s stack.
test-browser: $(SYNCED)
	.ci/chromium
	$(BIN)/pytest -m browser

## Slower tier: Airflow's CeleryExecutor for real (api-server, scheduler, dag-processor, two Celery workers on
## their own queues) on this machine's PostgreSQL and Redis; its checksum must equal a single-process run's.
test-distributed: $(SYNCED)
	$(BIN)/pytest -m distributed tests/distributed

## Offline install: every wheel of uv.lock plus ours in one folder (docker/wheelhouse.sh); the image installs from it.
wheelhouse: $(SYNCED)
	bash docker/wheelhouse.sh $(WHEELHOUSE_DIR)

## Slower tier: the wheelhouse (built, or reused while uv.lock is unchanged) installed into a fresh venv offline.
test-wheelhouse: $(SYNCED)
	WHEELHOUSE_DIR=$(WHEELHOUSE_DIR) $(BIN)/pytest -m wheelhouse tests/docker

## Slower tier: the production path for real in containers (podman; no registry here): stand-ins for the official
## Airflow, postgres and redis images built offline (debootstrap + the wheelhouse), docker/Dockerfile, then
## docker/docker-compose.yaml unchanged under podman-compose with the staging simulators; its checksum must equal
## a single-process run's. Installs podman & co. from Debian's packages when missing; removes all it made.
## Last line: `images: built B, services S healthy, checksum equal, left behind 0`.
test-images: $(SYNCED)
	env PATH=$(CURDIR)/$(BIN):$$PATH WHEELHOUSE_DIR=$(WHEELHOUSE_DIR) $(BIN)/python -m tests.docker.images

## The database tests against this machine's PostgreSQL 15 service instead of the embedded server.
test-pg15: $(SYNCED)
	ONESTOP_TEST_PG=$${ONESTOP_TEST_PG:-postgresql://postgres@127.0.0.1:5432/postgres} $(BIN)/pytest $(SUITE) tests/connectors tests/onestop

## Fault injection over a whole simulated province (≥ 20,000 dossiers); ≤ 30 minutes on 2 cores.
chaos: $(SYNCED)
	$(BIN)/onestop chaos

## Where the time goes: every stage side by side with PostgreSQL's COPY ceiling, a naive upsert and dlt.
## BENCH_ARGS=--quick for the smoke-test size (bench/results/quick.json). A full run writes latest.{json,md,png} and
## renders README's table from latest.json (committed).
bench: $(SYNCED)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## Why: one sync's extract and load call by call (pyinstrument), bench/results/profile-{extract,load}.html.
profile: $(SYNCED)
	$(BIN)/python -m bench.profile $(PROFILE_ARGS)

## The console's message catalog (babel.cfg): extract the English msgids, update the vi and en catalogs, compile.
## Translate what `update` added (msgstr "" or #, fuzzy) in onestop/console/locale/*/LC_MESSAGES/messages.po, then
## run it again; tests/onestop/console/test_catalog.py fails while an entry is missing, untranslated or fuzzy.
LOCALES := onestop/console/locale
catalog: $(SYNCED)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k NP_:1c,2 -k pgettext:1c,2 --no-location --sort-output --omit-header \
		-o $(LOCALES)/messages.pot onestop/console plugins/onestop_console.py
	for lang in vi en; do \
		$(BIN)/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) -l $$lang --no-wrap --ignore-obsolete; \
	done
	$(BIN)/pybabel compile -d $(LOCALES) --statistics

lint: $(SYNCED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(SYNCED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	-$(BIN)/onestop db stop
	rm -rf var .pytest_cache .ruff_cache
