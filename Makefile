# The two commands a newcomer needs:
#   make up     a kind cluster running Airflow from inventories/local (UI at http://localhost:8080, password printed)
#   make test   everything CI runs: lint, sanity, unit and render tests, then Molecule on its own kind cluster
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help venv constraints up down test test-down bench static lint sanity unit contract render-tests build package-check molecule cluster images clean
help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

venv: $(VENV)/.installed ## pinned Python tooling in .venv (exact versions: tests/constraints.txt)
$(VENV)/.installed: requirements.txt requirements-dev.txt tests/constraints.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt -c tests/constraints.txt
	touch $@

constraints: ## after a change to requirements*.txt: resolve them afresh into tests/constraints.txt
	rm -rf .work/constraints-venv
	python3 -m venv .work/constraints-venv
	.work/constraints-venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
	{ sed -n '/^#/p;/^#/!q' tests/constraints.txt; .work/constraints-venv/bin/pip freeze --exclude-editable; } > tests/constraints.txt.new
	mv tests/constraints.txt.new tests/constraints.txt
	rm -rf .work/constraints-venv

up: venv ## bring up a kind cluster running Airflow (inventories/local)
	tests/scripts/up.sh

down: ## delete make up's kind cluster (airflow-k8s)
	tests/kind/down.sh

test: venv ## the whole suite, as CI runs it, on its own kind cluster (make up's is left alone)
	tests/scripts/test.sh

test-down: ## delete make test's kind cluster (kept only with AIRFLOW_K8S_KEEP_CLUSTER=1)
	tests/kind/down.sh test

static: lint sanity unit contract render-tests build package-check ## every check that needs no cluster

lint: venv ## yamllint and ansible-lint (production profile)
	$(BIN)/yamllint .
	$(BIN)/ansible-lint

sanity: venv ## ansible-test sanity on a copy laid out as ansible_collections/airflow_k8s/platform
	tests/scripts/sanity.sh

unit: venv ## pytest of the plugins and of the test helpers
	$(BIN)/pytest -q tests/unit

contract: venv ## unit tests against kubernetes.core 6.0.0 and the newest 6.x; ansible-core 2.18 refused in words
	tests/scripts/contract.sh

render-tests: venv ## render.yml for every inventory (checkout and installed tarball): schemas, Pod Security, secrets, bad input
	$(BIN)/pytest -q tests/test_render.py tests/test_bad_input.py tests/test_generated_bad_input.py tests/test_argument_specs.py tests/test_no_log.py tests/test_unreachable_cluster.py \
		tests/test_render_dir.py tests/test_site_summary.py tests/test_installed_collection.py tests/test_one_source.py \
		tests/test_config_rollout.py tests/test_backup.py tests/test_rotate.py tests/test_statsd.py tests/test_existing_secrets.py tests/test_housekeeping.py tests/test_extend.py

build: venv ## ansible-galaxy collection build
	mkdir -p .work/dist
	$(BIN)/ansible-galaxy collection build --force --output-path .work/dist .

package-check: venv ## the tarball as Galaxy, AWX and ansible-builder see it: galaxy-importer, antsibull-docs, EE
	$(BIN)/pytest -q tests/test_packaging.py

molecule: venv ## Molecule scenarios (extensions/molecule/) on make test's cluster (make test leaves it with AIRFLOW_K8S_KEEP_CLUSTER=1); multinode on its own
	. tests/kind/lib.sh && use_test_cluster && . tests/scripts/env.sh && $(BIN)/molecule test --all --exclude multinode
	. tests/kind/lib.sh && use_multinode_cluster && . tests/scripts/env.sh && tests/kind/up.sh "$$AIRFLOW_IMAGE" "$$POSTGRES_IMAGE" && \
		. tests/scripts/env.sh && $(BIN)/molecule test -s multinode

bench: venv ## benchmarks on the kind cluster -> docs/benchmarks/<date>.json and .png (not a test)
	tests/benchmarks/bench.sh $(BENCH_ARGS)

cluster: ## build (cached) and start the kind cluster only
	tests/kind/up.sh

images: ## build (cached) the images: Airflow, Postgres, git-sync + git server and the statsd exporter for the tests
	tests/images/build.sh all

clean: ## remove local state (the cluster stays: make down)
	rm -rf render .work/render .work/dist .work/sanity
