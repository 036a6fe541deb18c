/**
 * The few kube-controller-manager and apiextensions controllers whose effects our code depends on,
 * run by the store right after writes: the garbage collector (ownerReferences, orphan and foreground
 * deletion), namespace cleanup, CRD instance cleanup and the disruption controller's PDB status.
 */
import { assessPdb } from './eviction.js';
import { jsonEqual } from './patch.js';
import type { KubeObject, OwnerReference, ResourceType } from './resources.js';
import { CRD_CLEANUP_FINALIZER, type ClusterStore, type Stored } from './store.js';
import { ApiError } from './status.js';

function ignoreGone(action: () => void): void {
  try {
    action();
  } catch (err) {
    if (!(err instanceof ApiError) || (err.code !== 404 && err.code !== 409)) throw err;
  }
}

type OwnerState = 'present' | 'absent' | 'unknown';

function ownerState(store: ClusterStore, dependent: KubeObject, ref: OwnerReference): OwnerState {
  const rt = store.typeOfKind(ref.apiVersion, ref.kind);
  if (!rt) return 'unknown';
  const owner = store.find(rt, rt.namespaced ? dependent.metadata.namespace : undefined, ref.name);
  return owner && owner.obj.metadata.uid === ref.uid ? 'present' : 'absent';
}

function typeOf(store: ClusterStore, obj: KubeObject): ResourceType {
  const rt = store.typeOfKind(obj.apiVersion ?? '', obj.kind ?? '');
  if (!rt) throw new Error(`No resource type for ${obj.apiVersion}/${obj.kind}`);
  return rt;
}

function withoutFinalizer(store: ClusterStore, stored: Stored, finalizer: string): void {
  const rt = typeOf(store, stored.obj);
  const next = JSON.parse(stored.json) as KubeObject;
  next.metadata.finalizers = (next.metadata.finalizers ?? []).filter((f) => f !== finalizer);
  ignoreGone(() => store.applyUpdate(rt, stored, next));
}

function deleteObject(store: ClusterStore, obj: KubeObject): void {
  const rt = typeOf(store, obj);
  ignoreGone(() => store.delete(rt, obj.metadata.namespace, obj.metadata.name ?? ''));
}

function dependentsOf(store: ClusterStore, uid: string | undefined): Stored[] {
  return store.ownedObjects().filter((s) => s.obj.metadata.ownerReferences?.some((r) => r.uid === uid));
}

/** Garbage collector: orphan and foreground finalizers, then background deletion of orphaned dependents. */
export function collectGarbage(store: ClusterStore): void {
  for (const { stored } of store.terminatingObjects()) {
    const finalizers = stored.obj.metadata.finalizers ?? [];
    if (finalizers.includes('orphan')) {
      for (const dependent of dependentsOf(store, stored.obj.metadata.uid)) {
        const next = JSON.parse(dependent.json) as KubeObject;
        next.metadata.ownerReferences = next.metadata.ownerReferences?.filter(
          (r) => r.uid !== stored.obj.metadata.uid,
        );
        if (next.metadata.ownerReferences?.length === 0) delete next.metadata.ownerReferences;
        ignoreGone(() => store.applyUpdate(typeOf(store, dependent.obj), dependent, next));
      }
      withoutFinalizer(
        store,
        store.find(
          typeOf(store, stored.obj),
          stored.obj.metadata.namespace,
          stored.obj.metadata.name ?? '',
        ) ?? stored,
        'orphan',
      );
    } else if (finalizers.includes('foregroundDeletion')) {
      const dependents = dependentsOf(store, stored.obj.metadata.uid);
      dependents.filter((d) => !d.obj.metadata.deletionTimestamp).forEach((d) => deleteObject(store, d.obj));
      if (dependents.length === 0) withoutFinalizer(store, stored, 'foregroundDeletion');
    }
  }
  for (const dependent of store.ownedObjects()) {
    const refs = dependent.obj.metadata.ownerReferences ?? [];
    const states = refs.map((ref) => ownerState(store, dependent.obj, ref));
    if (states.includes('unknown') || !states.includes('absent')) continue;
    if (states.every((s) => s === 'absent')) {
      if (!dependent.obj.metadata.deletionTimestamp) deleteObject(store, dependent.obj);
      continue;
    }
    const next = JSON.parse(dependent.json) as KubeObject;
    next.metadata.ownerReferences = refs.filter((_ref, i) => states[i] === 'present');
    ignoreGone(() => store.applyUpdate(typeOf(store, dependent.obj), dependent, next));
  }
}

/** Namespace controller: deletes a terminating namespace's content, then finalizes the namespace. */
export function cleanUpNamespaces(store: ClusterStore): void {
  const namespaces = store.mustFind('', 'v1', 'namespaces');
  for (const { stored } of store.terminatingObjects()) {
    if (stored.obj.kind !== 'Namespace') continue;
    const name = stored.obj.metadata.name;
    let remaining = 0;
    const seen = new Set<string>();
    for (const rt of store.registry.all()) {
      if (!rt.namespaced || seen.has(rt.storage) || rt.fromStorage) continue;
      seen.add(rt.storage);
      for (const item of store.storedIn(rt.storage)) {
        if (item.obj.metadata.namespace !== name) continue;
        remaining++;
        if (!item.obj.metadata.deletionTimestamp) deleteObject(store, item.obj);
      }
    }
    const spec = stored.obj.spec as { finalizers?: string[] } | undefined;
    if (remaining === 0 && spec?.finalizers?.includes('kubernetes')) {
      const current = store.find(namespaces, undefined, name ?? '');
      if (!current) continue;
      const next = JSON.parse(current.json) as KubeObject;
      next.spec = { ...(next.spec as object), finalizers: spec.finalizers.filter((f) => f !== 'kubernetes') };
      ignoreGone(() => store.applyUpdate(namespaces, current, next, { subresource: 'finalize' }));
    }
  }
}

/** CRD finalizer: deletes a deleted CRD's custom resources, then releases the CRD. */
export function cleanUpCustomResources(store: ClusterStore): void {
  for (const { stored } of store.terminatingObjects()) {
    if (stored.obj.kind !== 'CustomResourceDefinition') continue;
    if (!stored.obj.metadata.finalizers?.includes(CRD_CLEANUP_FINALIZER)) continue;
    const spec = stored.obj.spec as { group: string; names: { plural: string } };
    const items = store.storedIn(`${spec.group}/${spec.names.plural}`);
    items.filter((i) => !i.obj.metadata.deletionTimestamp).forEach((i) => deleteObject(store, i.obj));
    if (items.length === 0) withoutFinalizer(store, stored, CRD_CLEANUP_FINALIZER);
  }
}

/** Disruption controller: keeps every PDB's status in line with the pods it selects. */
export function updateDisruptionBudgets(store: ClusterStore): void {
  const pdbType = store.mustFind('policy', 'v1', 'poddisruptionbudgets');
  const pdbs = store.storedIn(pdbType.storage);
  if (pdbs.length === 0) return;
  const pods = store.storedIn(store.mustFind('', 'v1', 'pods').storage).map((s) => s.obj);
  for (const pdb of pdbs) {
    const status = (pdb.obj.status ?? {}) as Record<string, unknown>;
    const next = { ...status, ...assessPdb(pdb.obj, pods), observedGeneration: pdb.obj.metadata.generation };
    if (jsonEqual(next, status)) continue;
    const obj = JSON.parse(pdb.json) as KubeObject;
    obj.status = next;
    ignoreGone(() => store.applyUpdate(pdbType, pdb, obj, { subresource: 'status' }));
  }
}

/** Registers every controller with the store. */
export function startControllers(store: ClusterStore): void {
  store.addController(() => collectGarbage(store));
  store.addController(() => cleanUpNamespaces(store));
  store.addController(() => cleanUpCustomResources(store));
  store.addController(() => updateDisruptionBudgets(store));
}
