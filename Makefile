# The two commands a newcomer needs:
#   make up     a kind cluster running Airflow from inventories/local (UI address and password printed)
#   make test   everything CI runs: lint, sanity, unit and render tests, then Molecule on a real kind cluster
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help venv up down test bench static lint sanity unit contract render-tests build molecule cluster images clean
help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

venv: $(VENV)/.installed ## pinned Python tooling in .venv
$(VENV)/.installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

up: venv ## bring up a kind cluster running Airflow (inventories/local)
	tests/scripts/up.sh

down: ## delete the kind cluster
	tests/kind/down.sh

test: venv ## the whole suite, as CI runs it (static checks, then Molecule on kind)
	tests/scripts/test.sh

static: lint sanity unit render-tests build ## every check that needs no cluster

lint: venv ## yamllint and ansible-lint (production profile)
	$(BIN)/yamllint .
	$(BIN)/ansible-lint

sanity: venv ## ansible-test sanity on a copy laid out as ansible_collections/airflow_k8s/platform
	tests/scripts/sanity.sh

unit: venv ## pytest of the plugins and of the test helpers
	$(BIN)/pytest -q tests/unit

contract: venv ## unit tests against kubernetes.core 6.0.0 and the newest 6.x; ansible-core 2.18 refused in words
	tests/scripts/contract.sh

render-tests: venv ## render.yml for every inventory: schemas, Pod Security, secrets, bad input
	$(BIN)/pytest -q tests/test_render.py tests/test_bad_input.py tests/test_argument_specs.py tests/test_no_log.py tests/test_unreachable_cluster.py

build: venv ## ansible-galaxy collection build
	mkdir -p .work/dist
	$(BIN)/ansible-galaxy collection build --force --output-path .work/dist .

molecule: venv ## Molecule scenarios against the kind cluster (KUBECONFIG or .work/kubeconfig)
	cd $(CURDIR) && $(BIN)/molecule test --all  # scenarios: extensions/molecule/

bench: venv ## benchmarks on the kind cluster -> docs/benchmarks/<date>.json and .png (not a test)
	tests/benchmarks/bench.sh $(BENCH_ARGS)

cluster: ## build (cached) and start the kind cluster only
	tests/kind/up.sh

images: ## build (cached) the images: Airflow, Postgres, and git-sync + git server for the tests
	tests/images/build.sh all

clean: ## remove local state (the cluster stays: make down)
	rm -rf .work/render .work/dist .work/sanity
