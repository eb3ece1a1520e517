# cango-operator: every target sets itself up (virtualenv, Debian packages, control plane).
SHELL := bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CANGO := $(BIN)/cango-operator
# The control-plane binaries: built once from Go modules, cached outside the repo.
BIN_DIR = $(shell hack/controlplane/build.sh)
# Open Cluster Management (the federation's hub and site agents): built once, cached too.
OCM_DIR = $(shell hack/ocm/build.sh)
# Kueue (tenants' GPU quotas and fair sharing): built once from its Go module, cached too.
KUEUE_DIR = $(shell hack/kueue/build.sh)
# The real node's kubelet and pause image, and the images it runs: built once, cached too.
KUBELET_DIR = $(shell hack/kubelet/build.sh)
IMAGE_DIR = $(shell hack/image/build.sh)
# The Gateway API's and its Inference Extension's CRDs (a job's endpoint): copied once from
# their Go modules, cached too (YAML only, nothing built).
GATEWAY_DIR = $(shell hack/gateway/build.sh)
# The Prometheus adapter (external metrics for the HorizontalPodAutoscaler in the gateway's
# autoscaling test): built once from its Go module, cached too.
METRICS_ADAPTER_DIR = $(shell hack/metrics-adapter/build.sh)
# The Gateway API Inference Extension's endpoint picker (an Envoy ext_proc server that picks
# an InferencePool's pod per request): built once from its Go module, cached too.
EPP_DIR = $(shell hack/epp/build.sh)

.PHONY: help venv system-deps controlplane ocm kueue gateway-crds metrics-adapter epp federation-up federation-down cluster-up cluster-down fmt lint types layers \
        unit pytest test crds demo demo-single bench bench-e2e bench-federation bench-partition bench-miners bench-gateway clean chart-lint observability \
        gpu-check gpu-check-bundle real-node-deps image kubelet test-real-node

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-17s %s\n", $$1, $$2}'

venv: $(VENV)/.installed ## the Python virtualenv with the package and its dev tools
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]' >&2
	@touch $@

system-deps: ## Debian packages the tests need (prometheus, promtool), installed if missing
	@hack/system-deps.sh >&2

real-node-deps: ## Debian packages of `make image` and the real node (podman, runc, containerd, ...)
	@hack/realnode/system-deps.sh

image: venv real-node-deps ## build the operator image with no Docker engine and no registry (podman, offline)
	@hack/image/build.sh

kubelet: real-node-deps ## build the real node's kubelet and pause image from the k8s.io/kubernetes module (cached)
	@hack/kubelet/build.sh

controlplane: ## build etcd, kube-apiserver, -controller-manager, -scheduler, kubectl, kwok, helm
	@hack/controlplane/build.sh

ocm: ## build Open Cluster Management's hub and site agents from Go modules (cached)
	@hack/ocm/build.sh

kueue: ## build Kueue's manager from its Go module (cached)
	@hack/kueue/build.sh

gateway-crds: ## copy the Gateway API's, Inference Extension's and KEDA's ScaledObject CRDs from their Go modules (cached)
	@hack/gateway/build.sh

metrics-adapter: ## build the Prometheus adapter from its Go module (cached)
	@hack/metrics-adapter/build.sh

epp: ## build the Inference Extension's endpoint picker from its Go module (cached)
	@hack/epp/build.sh

federation-up: venv ## start a hub and 3 site clusters joined through OCM (SITES=N, WAN_LINKS=1)
	@CANGO_BIN_DIR=$(BIN_DIR) CANGO_OCM_DIR=$(OCM_DIR) $(CANGO) dev federation up --sites $(or $(SITES),3) \
		$(if $(WAN_LINKS),--wan-links)

federation-down: venv ## stop the local federation, leaving no process behind
	@CANGO_BIN_DIR=$(BIN_DIR) $(CANGO) dev federation down

cluster-up: venv ## start the local cluster; last line is `export KUBECONFIG=...`
	@$(CANGO) dev cluster up

cluster-down: venv ## stop the local cluster, leaving no process behind
	@$(CANGO) dev cluster down

fmt: venv ## format the code
	$(BIN)/ruff format cango_operator tests
	$(BIN)/ruff check --fix cango_operator tests

lint: venv ## ruff lint and format check
	$(BIN)/ruff check cango_operator tests
	$(BIN)/ruff format --check cango_operator tests

types: venv ## mypy --strict on the package
	$(BIN)/mypy

layers: venv ## import-linter: the layers of docs/design.md
	$(BIN)/lint-imports

unit: venv ## the fast unit tests only
	$(BIN)/pytest tests/unit

pytest: venv system-deps ## unit and integration tests (starts a real control plane, Kueue and a federation)
	CANGO_BIN_DIR=$(BIN_DIR) CANGO_OCM_DIR=$(OCM_DIR) CANGO_KUEUE_DIR=$(KUEUE_DIR) \
		CANGO_GATEWAY_DIR=$(GATEWAY_DIR) CANGO_METRICS_ADAPTER_DIR=$(METRICS_ADAPTER_DIR) \
		CANGO_EPP_DIR=$(EPP_DIR) $(BIN)/pytest

test: lint types layers pytest ## everything CI runs

test-real-node: venv real-node-deps ## the chart and a tenant's job on a real kubelet node (root; docs/real-node.md)
	CANGO_BIN_DIR=$(BIN_DIR) CANGO_KUBELET_DIR=$(KUBELET_DIR) CANGO_IMAGE_DIR=$(IMAGE_DIR) \
		CANGO_GATEWAY_DIR=$(GATEWAY_DIR) \
		$(BIN)/pytest -p no:cacheprovider tests/realnode

chart-lint: ## helm lint --strict of the Helm charts (their tests run with `make pytest`)
	$(BIN_DIR)/helm lint --strict charts/cango-operator
	$(BIN_DIR)/helm lint --strict charts/cango-site --set cluster.name=site-1

crds: venv ## regenerate the CRD manifests from the API models
	$(CANGO) crds

observability: venv ## regenerate the chart's dashboards and docs/{metrics,dashboards,alerts}.md
	$(CANGO) observability

demo: venv ## the main job: a simulated fleet on a hub and a site cluster per region, with a report
	CANGO_BIN_DIR=$(BIN_DIR) CANGO_OCM_DIR=$(OCM_DIR) $(CANGO) demo $(ARGS)

demo-single: venv ## the same day with every site in one cluster (half the memory, no OCM)
	CANGO_BIN_DIR=$(BIN_DIR) $(CANGO) demo --single-cluster $(ARGS)

bench: venv ## placement engine benchmarks (writes bench results)
	$(BIN)/python -m tests.bench

bench-e2e: venv ## scale benchmark on the local control plane (writes .out/bench-e2e/)
	CANGO_BIN_DIR=$(BIN_DIR) $(BIN)/python -m tests.bench.e2e

bench-partition: venv ## a site's link cut for minutes while it serves, then healed (ARGS=...)
	CANGO_BIN_DIR=$(BIN_DIR) CANGO_OCM_DIR=$(OCM_DIR) $(BIN)/python -m tests.bench.partition $(ARGS)

bench-federation: venv ## federated scale benchmark: N replicas over site clusters vs one cluster (ARGS=...)
	CANGO_BIN_DIR=$(BIN_DIR) CANGO_OCM_DIR=$(OCM_DIR) $(BIN)/python -m tests.bench.federation $(ARGS)

bench-miners: venv ## the mining controller on 500 fake miners: default concurrency vs one at a time (ARGS=...)
	$(BIN)/python -m tests.bench.miners $(ARGS)

bench-gateway: venv ## the inference gateway on loopback: added latency, and failover under load (ARGS=...)
	$(BIN)/python -m tests.bench.gateway $(ARGS)

gpu-check: ## on a machine with an NVIDIA GPU, no network needed: the agent's NVML path for real (docs/gpu-check.md)
	@hack/gpu-check.sh $(ARGS)

gpu-check-bundle: venv ## the wheels gpu-check installs offline, into .gpu-bundle/ to carry (GPU_PYTHONS=3.12 adds)
	@hack/gpu-bundle.sh

clean: ## remove the virtualenv and caches (not the control-plane build)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
