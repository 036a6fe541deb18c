#!/usr/bin/env bash
# kind end-to-end test of thinpool-operator (`make e2e-kind`), for machines with Docker and kind:
#   1. a kind cluster (1 control plane, 2 workers) sharing the host's /dev, so that the loop devices the agent
#      attaches inside a node exist there; lvm2 installed in the pool's worker (the agent runs the node's LVM);
#   2. the image built from the Dockerfile and loaded into the nodes; the chart installed with helm;
#   3. a loop-lvm ThinPool on one labelled worker: Ready, its ThinPoolNode Ready, metrics scraped and equal to
#      `lvs` to the byte, the unlabelled worker left alone;
#   4. a reboot of the worker (VG deactivated, loops detached, node container restarted): Ready again with no
#      human step;
#   5. the ThinPool deleted (deletionPolicy Delete): no device-mapper device or loop left on the host; the
#      release uninstalled and the CRDs deleted: nothing of the project left in the cluster.
# Where Docker, its daemon, kind, root or loop devices are missing it prints one line
#   SKIPPED: kind e2e (<reason>)
# and exits 0 without running (or counting) any check. On success it prints "PASSED: kind e2e (N checks)".
#
# Environment: KIND_CLUSTER_NAME (thinpool-e2e), KIND_NODE_IMAGE (kind's default), E2E_KEEP_CLUSTER=1 to keep
# the cluster after the run, E2E_TIMEOUT (600s: every wait), THINPOOL_HELM / THINPOOL_KUBECTL (else the tools
# cache of test/tools/fetch-tools.sh, fetched on demand, else PATH).
set -euo pipefail

skip() {
  echo "SKIPPED: kind e2e ($1)"
  exit 0
}

command -v docker >/dev/null 2>&1 || skip 'docker is not installed'
docker_error="$(docker info --format '{{.ServerVersion}}' 2>&1 >/dev/null)" ||
  skip "no Docker daemon: $(printf '%s' "$docker_error" | head -n 1)"
command -v kind >/dev/null 2>&1 || skip 'kind is not installed'
[[ "$(id -u)" == 0 ]] || skip 'needs root to manage loop devices on the host'
[[ -e /dev/loop-control ]] || skip 'the host has no loop device support (/dev/loop-control)'

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
here="$repo/test/e2e/kind"
cluster="${KIND_CLUSTER_NAME:-thinpool-e2e}"
timeout="${E2E_TIMEOUT:-600s}"
namespace=thinpool-system
release=thinpool-operator
image=thinpool-operator:e2e
pool=e2e-loop
vg=thinpool-e2e
loop_dir=/var/lib/thinpool-e2e
pool_node="$cluster-worker"
other_node="$cluster-worker2"
checks=0

log() { printf 'kind-e2e: %s\n' "$*" >&2; }
fail() {
  printf 'FAILED: kind e2e: %s\n' "$*"
  exit 1
}
check() {
  local description="$1"
  shift
  if "$@"; then
    checks=$((checks + 1))
    log "ok - $description"
  else
    fail "$description"
  fi
}

tool() {
  local name="$1" override="$2"
  local cache="${THINPOOL_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/thinpool-tools}"
  if [[ -n "${!override:-}" ]]; then
    echo "${!override}"
  elif [[ -x "$cache/bin/$name" ]] || "$repo/test/tools/fetch-tools.sh" >/dev/null; then
    echo "$cache/bin/$name"
  else
    command -v "$name"
  fi
}
helm="$(tool helm THINPOOL_HELM)"
kubectl_bin="$(tool kubectl THINPOOL_KUBECTL)"
kubeconfig="$(mktemp)"
k() { "$kubectl_bin" --kubeconfig "$kubeconfig" "$@"; }

# Host-side leftovers of this test only: device-mapper devices of our VG, then loops backed by our files.
release_host_devices() {
  local dm name
  for dm in /sys/block/dm-*/dm/name; do
    [[ -e "$dm" ]] || continue
    name="$(cat "$dm")"
    if [[ "$name" == "${vg//-/--}-"* ]] && command -v dmsetup >/dev/null; then
      dmsetup remove --retry "$name" || log "could not remove device-mapper device $name"
    fi
  done
  losetup --list --noheadings --output NAME,BACK-FILE 2>/dev/null | while read -r device file; do
    # The kernel shows a backing file's path as seen from here: inside a node container's root on the host.
    if [[ "$file" == *"$loop_dir/"* ]]; then losetup --detach "$device" || log "could not detach $device"; fi
  done
}

cleanup() {
  local status=$?
  if [[ "${E2E_KEEP_CLUSTER:-0}" == 1 ]]; then
    log "kept cluster $cluster (kubeconfig: $kubeconfig)"
  else
    kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
    release_host_devices
    rm -f "$kubeconfig"
  fi
  exit "$status"
}
trap cleanup EXIT

log "Creating kind cluster $cluster"
modprobe loop 2>/dev/null || true
kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
kind create cluster --name "$cluster" --config "$here/kind-cluster.yaml" --kubeconfig "$kubeconfig" \
  ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"} --wait 5m

# The agent runs the node's own LVM through nsenter (as on a real host), and kind's node image has none.
log "Installing lvm2 and thin-provisioning-tools in $pool_node (needs network access from the node)"
docker exec "$pool_node" bash -c 'command -v lvm >/dev/null || { apt-get update -qq &&
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lvm2 thin-provisioning-tools; }'

log "Building $image and loading it into the nodes"
docker build --tag "$image" "$repo"
kind load docker-image "$image" --name "$cluster"

log "Installing the chart"
k create namespace "$namespace"
k label namespace "$namespace" pod-security.kubernetes.io/enforce=privileged
"$helm" install "$release" "$repo/charts/thinpool-operator" --kubeconfig "$kubeconfig" --namespace "$namespace" \
  --set image.repository="${image%:*}" --set image.tag="${image#*:}" --set image.pullPolicy=Never \
  --wait --timeout 5m
check 'the operator Deployment is available' \
  k -n "$namespace" wait deployment/"$release" --for=condition=Available --timeout="$timeout"
check 'the CRDs are established' \
  k wait crd/thinpools.thinpool.dev crd/thinpoolnodes.thinpool.dev --for=condition=Established --timeout="$timeout"

log "Applying the loop-lvm ThinPool to $pool_node only"
k label node "$pool_node" thinpool.dev/e2e=true
k apply -f "$here/thinpool-loop.yaml"
check 'the ThinPool turns Ready' k wait thinpool/"$pool" --for=condition=Ready --timeout="$timeout"
check "the ThinPoolNode of $pool_node turns Ready" \
  k wait thinpoolnode/"$pool.$pool_node" --for=condition=Ready --timeout="$timeout"
no_thinpoolnode_for_other_node() { ! k get thinpoolnode "$pool.$other_node" >/dev/null 2>&1; }
check "the unlabelled $other_node gets no ThinPoolNode" no_thinpoolnode_for_other_node

agent_pod() {
  k -n "$namespace" get pods -l app.kubernetes.io/component=agent --field-selector "spec.nodeName=$pool_node" \
    -o jsonpath='{.items[0].metadata.name}'
}
scraped_data_size() {
  k get --raw "/api/v1/namespaces/$namespace/pods/$(agent_pod):9842/proxy/metrics" |
    awk -v pool="thinpool=\"$pool\"" '$1 ~ /^thinpool_data_size_bytes\{/ && index($1, pool) { printf "%.0f\n", $2 }'
}
lvs_data_size() {
  docker exec "$pool_node" lvs --noheadings --units b --nosuffix -o lv_size "$vg/thinpool" | tr -d ' '
}
metrics_match_lvs() {
  local scraped reported
  scraped="$(scraped_data_size)"
  reported="$(lvs_data_size)"
  log "thinpool_data_size_bytes=$scraped, lvs lv_size=$reported"
  [[ -n "$scraped" && "$scraped" -gt 0 && "$scraped" == "$reported" ]]
}
check 'the agent metrics show the pool, equal to lvs to the byte' metrics_match_lvs
status_capacity_matches() {
  [[ "$(k get thinpool "$pool" -o jsonpath='{.status.capacity.dataSizeBytes}')" == "$(lvs_data_size)" ]]
}
check 'the ThinPool status capacity equals lvs' status_capacity_matches

log "Rebooting $pool_node: VG deactivated, loops detached, node container restarted"
docker exec "$pool_node" vgchange --activate n "$vg"
release_host_devices
docker restart "$pool_node" >/dev/null
check "$pool_node is Ready again" k wait node/"$pool_node" --for=condition=Ready --timeout="$timeout"
pool_recovered() {
  local deadline=$((SECONDS + 600))
  until [[ "$(k get thinpoolnode "$pool.$pool_node" \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]] &&
    [[ "$(docker exec "$pool_node" lvs --noheadings -o lv_active "$vg/thinpool" 2>/dev/null | tr -d ' ')" == active ]]; do
    ((SECONDS < deadline)) || return 1
    sleep 5
  done
}
check 'the pool is active and Ready again without a human step' pool_recovered
check 'the ThinPool is Ready again' k wait thinpool/"$pool" --for=condition=Ready --timeout="$timeout"
check 'the agent serves metrics again' metrics_match_lvs

log "Deleting the ThinPool (deletionPolicy: Delete)"
check 'the ThinPool is deleted once the agents removed the pool' \
  k delete thinpool "$pool" --wait --timeout="$timeout"
no_thinpoolnodes() { [[ -z "$(k get thinpoolnodes -o name)" ]]; }
check 'no ThinPoolNode is left' no_thinpoolnodes
no_daemonsets() { [[ -z "$(k -n "$namespace" get daemonsets -o name)" ]]; }
check 'no agent DaemonSet is left' no_daemonsets
no_host_devices() {
  local dm
  for dm in /sys/block/dm-*/dm/name; do
    [[ -e "$dm" && "$(cat "$dm")" == "${vg//-/--}-"* ]] && return 1
  done
  ! losetup --list --noheadings --output BACK-FILE 2>/dev/null | grep -qF "$loop_dir/"
}
check 'no device-mapper device or loop of the pool is left on the host' no_host_devices

log "Uninstalling the release and the CRDs"
"$helm" uninstall "$release" --kubeconfig "$kubeconfig" --namespace "$namespace" --wait --timeout 5m
k delete -f "$repo/charts/thinpool-operator/crds/" --wait --timeout="$timeout"
nothing_left() {
  local selector="app.kubernetes.io/instance=$release"
  [[ -z "$(k get clusterroles,clusterrolebindings -l "$selector" -o name)" ]] &&
    [[ -z "$(k -n "$namespace" get all,serviceaccounts,roles,rolebindings,configmaps -l "$selector" -o name)" ]] &&
    [[ -z "$(k -n "$namespace" get daemonsets,pods -l app.kubernetes.io/component=agent -o name)" ]] &&
    [[ -z "$(k get crd -o name | grep '\.thinpool\.dev$' || true)" ]]
}
check 'nothing of the release, its agents or its CRDs is left' nothing_left
# The namespace holds what the operator made at run time (its leader Lease, Events); it goes last.
check 'the namespace is deleted' k delete namespace "$namespace" --wait --timeout="$timeout"

echo "PASSED: kind e2e ($checks checks)"
