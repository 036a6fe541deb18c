# thinpool-operator: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
RESULTS ?= test-results
JEST := NODE_OPTIONS="--experimental-vm-modules --disable-warning=ExperimentalWarning" npx jest

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-z0-9-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

.PHONY: deps
deps: node_modules/.package-lock.json ## Install npm dependencies (npm ci) when the lockfile changed

.PHONY: demo
demo: deps test-setup ## The main job on the embedded default: VM + API emulator + operator + agent, a loop-lvm ThinPool to Ready
	npx tsx demo/run-demo.ts

.PHONY: build
build: deps ## Compile TypeScript into dist/
	npx tsc -p tsconfig.json

.PHONY: lint
lint: deps ## eslint, prettier --check, tsc --noEmit over sources and tests, and the CRD freshness check
	npx eslint .
	npx prettier --check .
	npx tsc --noEmit -p tsconfig.test.json
	npx tsx api/generate-crds.ts --check

.PHONY: crds
crds: deps ## Regenerate crds/*.yaml (and the chart's copy) from api/
	npx tsx api/generate-crds.ts

.PHONY: crds-check
crds-check: deps ## Fail when crds/ (or the chart's copy) differs from what api/ generates
	npx tsx api/generate-crds.ts --check

.PHONY: test-setup
test-setup: deps ## Install the VM's apt packages and guest kernel, and fetch helm, kubectl and promtool
	@if ! test/vm/setup --with-runtimes; then \
	  if [ -n "$$THINPOOL_REQUIRE_VM" ] && [ "$$THINPOOL_REQUIRE_VM" != 0 ]; then \
	    echo "make: test/vm/setup failed and THINPOOL_REQUIRE_VM is set: the real-kernel suites are required" >&2; exit 1; \
	  fi; \
	  echo "make: test/vm/setup failed: the real-kernel suites will be skipped" >&2; \
	fi
	test/tools/fetch-tools.sh

.PHONY: test
test: lint test-setup ## Run every test: lint, typecheck, unit, API emulator, chart, and the real-kernel (VM) suites
	@mkdir -p $(RESULTS)
	$(JEST) --forceExit --json --outputFile=$(RESULTS)/jest.json

.PHONY: test-vm
test-vm: deps test-setup ## Only the real-kernel suites (one VM for the run)
	$(JEST) --selectProjects vm --forceExit

.PHONY: bench
bench: build test-setup ## Run every benchmark under bench/ and write BENCHMARKS.md (takes many minutes)
	npx tsx bench/run-all.ts

.PHONY: emulator
emulator: deps ## Run the Kubernetes API emulator with our CRDs (kubeconfig in .cache/kubeconfig)
	@mkdir -p .cache
	npx tsx test/support/kube-apiserver/cli.ts --port 0 --crds crds/ --kubeconfig-out .cache/kubeconfig

.PHONY: e2e-kind
e2e-kind: ## kind end-to-end test for users with Docker and kind (root); prints one SKIPPED line otherwise
	test/e2e/kind/run.sh
