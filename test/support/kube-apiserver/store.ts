/**
 * The object store behind the emulator: one collection per storage (what etcd + the watch cache are for
 * kube-apiserver), a global resourceVersion counter, a bounded window of change events per collection
 * for watches, and the write strategy of the registry (create, update, status update, delete with
 * finalizers). Everything here is synchronous, so each write is atomic with respect to the others.
 */
import { randomUUID } from 'node:crypto';
import { crdResourceTypes, establishedStatus } from './crds.js';
import { generateName, validateObjectMeta, type NameRule } from './names.js';
import { isObject, jsonEqual, type JsonObject } from './patch.js';
import {
  apiVersionOf,
  builtinResources,
  microTimeProblem,
  type KubeObject,
  type ResourceType,
} from './resources.js';
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  expired,
  forbidden,
  invalid,
  notFound,
  type InvalidField,
} from './status.js';
import { matchesFields, matchesLabels, type FieldSelector, type LabelSelector } from './selectors.js';

/** One stored object version: the object, its JSON (served as is) and its resourceVersion. */
export interface Stored {
  readonly obj: KubeObject;
  readonly json: string;
  readonly rv: number;
  /** JSON per served apiVersion when it differs from the stored one. */
  views?: Map<string, string>;
}

/** One change, as watches see it. `prev` is the version before (MODIFIED and DELETED). */
export interface ChangeEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly rv: number;
  readonly stored: Stored;
  readonly prev?: Stored;
  /** Serialized watch lines, per view and event type, shared by every watcher. */
  lines?: Map<string, string>;
}

/** A consumer of change events (an open watch). */
export interface WatchSink {
  onEvent(event: ChangeEvent): void;
}

/** A field error from the shared CRD validator (`api/validation`). */
export interface ValidatorFieldError {
  type: string;
  field: string;
  message: string;
}

/** The shared CRD validator: structural pruning, defaulting, schema and CEL validation. */
export type SchemaValidator = (
  schema: unknown,
  object: unknown,
  options: { oldObject?: unknown },
) => { object: unknown; errors: ValidatorFieldError[]; unknownFields?: string[] };

/** Options of a write. */
export interface WriteOptions {
  dryRun?: boolean;
  subresource?: string;
  /** `fieldValidation`: Strict rejects unknown fields of custom resources, Warn (default) reports them. */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  /** Filled with warnings for the response's `Warning` headers. */
  warnings?: string[];
}

/** Options of a delete (`metav1.DeleteOptions`). */
export interface DeleteOptions {
  dryRun?: boolean;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** What a list asks for. */
export interface ListQuery {
  namespace?: string;
  labelSelector: LabelSelector;
  fieldSelector: FieldSelector;
  limit?: number;
  continueToken?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

/** One page of a list. */
export interface ListResult {
  items: Stored[];
  resourceVersion: number;
  continueToken?: string;
  remainingItemCount?: number;
}

class Collection {
  readonly items = new Map<string, Stored>();
  readonly events: ChangeEvent[] = [];
  readonly watchers = new Set<WatchSink>();
  /** Snapshots of paginated lists by list resourceVersion (what etcd's MVCC gives continue tokens). */
  readonly snapshots = new Map<number, Stored[]>();
  private sortedCache: Stored[] | null = null;

  constructor(
    /** Events with rv <= horizon are no longer retained (a watch from before it gets 410). */
    public horizon: number,
  ) {}

  invalidateOrder(): void {
    this.sortedCache = null;
  }

  /** Items in etcd key order (namespace, then name). */
  sorted(): Stored[] {
    if (!this.sortedCache) {
      const keys = [...this.items.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      this.sortedCache = keys.map((k) => this.items.get(k) as Stored);
    } else if (this.sortedCache.length === this.items.size) {
      // Updates keep the order; refresh the versions in place.
      for (let i = 0; i < this.sortedCache.length; i++) {
        const current = this.items.get(storageKeyOf(this.sortedCache[i].obj));
        if (current && current !== this.sortedCache[i]) this.sortedCache[i] = current;
      }
    }
    return this.sortedCache;
  }
}

/** The key of an object inside its collection: `namespace/name` or `name`. */
export function storageKeyOf(obj: KubeObject): string {
  const ns = obj.metadata.namespace;
  return ns ? `${ns}/${obj.metadata.name}` : (obj.metadata.name ?? '');
}

function objectKey(rt: ResourceType, namespace: string | undefined, name: string): string {
  return rt.namespaced ? `${namespace}/${name}` : name;
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** RFC 3339 with second precision, as metav1.Time serializes. */
export function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function nameRuleOf(rt: ResourceType): NameRule {
  if (rt.group === 'rbac.authorization.k8s.io') return 'pathSegment';
  if (rt.group === '' && rt.resource === 'namespaces') return 'label';
  return 'subdomain';
}

/** The served resource types, by URL segment and by apiVersion/kind. */
export class Registry {
  private readonly byPath = new Map<string, ResourceType>();

  constructor(types: ResourceType[]) {
    types.forEach((t) => this.add(t));
  }

  add(rt: ResourceType): void {
    this.byPath.set(`${rt.group}/${rt.version}/${rt.resource}`, rt);
  }

  remove(predicate: (rt: ResourceType) => boolean): void {
    for (const [key, rt] of this.byPath) if (predicate(rt)) this.byPath.delete(key);
  }

  all(): ResourceType[] {
    return [...this.byPath.values()];
  }

  find(group: string, version: string, resource: string): ResourceType | undefined {
    return this.byPath.get(`${group}/${version}/${resource}`);
  }

  findKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.all().find((rt) => apiVersionOf(rt) === apiVersion && rt.kind === kind);
  }
}

/** The emulated cluster state. */
export class ClusterStore {
  /** The global resourceVersion counter (etcd revision). */
  private revision = 1;
  private readonly collections = new Map<string, Collection>();
  private readonly owned = new Map<string, { storage: string; key: string }>();
  private readonly terminating = new Map<string, { storage: string; key: string }>();
  private readonly controllers: (() => void)[] = [];
  private controllersScheduled = false;
  readonly registry = new Registry(builtinResources());

  constructor(
    private readonly retainedEvents: number,
    private readonly validator?: SchemaValidator,
  ) {
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.create(this.mustFind('', 'v1', 'namespaces'), undefined, { metadata: { name: ns } });
    }
  }

  /** The current resourceVersion. */
  get resourceVersion(): number {
    return this.revision;
  }

  /** Registers a function run (asynchronously, coalesced) after writes: GC, namespace and CRD cleanup. */
  addController(run: () => void): void {
    this.controllers.push(run);
  }

  /** Whether controller work (GC, cleanup, PDB status) is scheduled and not yet run. */
  get controllersPending(): boolean {
    return this.controllersScheduled;
  }

  private scheduleControllers(): void {
    if (this.controllersScheduled || this.controllers.length === 0) return;
    this.controllersScheduled = true;
    setImmediate(() => {
      this.controllersScheduled = false;
      for (const run of this.controllers) run();
    });
  }

  mustFind(group: string, version: string, resource: string): ResourceType {
    const rt = this.registry.find(group, version, resource);
    if (!rt) throw new Error(`Unknown resource ${group}/${version}/${resource}`);
    return rt;
  }

  private collection(rt: ResourceType): Collection {
    let coll = this.collections.get(rt.storage);
    if (!coll) {
      coll = new Collection(this.revision);
      this.collections.set(rt.storage, coll);
    }
    return coll;
  }

  /** The stored objects of a storage (controllers). */
  storedIn(storage: string): Stored[] {
    return this.collections.get(storage)?.sorted() ?? [];
  }

  /** Forgets every retained event and list snapshot: watches and continue tokens from before now get 410. */
  compact(): void {
    for (const coll of this.collections.values()) {
      coll.events.length = 0;
      coll.horizon = this.revision;
      coll.snapshots.clear();
    }
  }

  /** The object as the given resource type serves it (converted, with that apiVersion and kind). */
  toView(rt: ResourceType, obj: KubeObject): KubeObject {
    const converted = rt.fromStorage ? rt.fromStorage(obj) : obj;
    const apiVersion = apiVersionOf(rt);
    if (converted.apiVersion === apiVersion && converted.kind === rt.kind) return converted;
    return { ...converted, apiVersion, kind: rt.kind };
  }

  /** The JSON of a stored object as the given resource type serves it. */
  viewJson(rt: ResourceType, stored: Stored): string {
    const apiVersion = apiVersionOf(rt);
    if (!rt.fromStorage && stored.obj.apiVersion === apiVersion && stored.obj.kind === rt.kind)
      return stored.json;
    stored.views ??= new Map();
    let json = stored.views.get(apiVersion);
    if (json === undefined) {
      json = JSON.stringify(this.toView(rt, stored.obj));
      stored.views.set(apiVersion, json);
    }
    return json;
  }

  /** Converts an object of a served type to its stored form, after the decoder's MicroTime check. */
  fromView(rt: ResourceType, obj: KubeObject): KubeObject {
    const problem = microTimeProblem(rt, obj);
    if (problem) throw badRequest(problem);
    if (!rt.custom) {
      const timeProblem = truncateTimes(obj);
      if (timeProblem)
        throw badRequest(
          `${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: ${timeProblem}`,
        );
    }
    return rt.toStorage ? rt.toStorage(obj) : obj;
  }

  /** The selectable fields of a stored object for a resource type. */
  fieldsOf(rt: ResourceType, obj: KubeObject): Record<string, string> {
    return {
      'metadata.name': obj.metadata.name ?? '',
      'metadata.namespace': obj.metadata.namespace ?? '',
      ...rt.selectableFields?.(obj),
    };
  }

  /** Whether a stored object is in a namespace (if given) and matches both selectors. */
  matches(
    rt: ResourceType,
    obj: KubeObject,
    namespace: string | undefined,
    labels: LabelSelector,
    fields: FieldSelector,
  ): boolean {
    if (namespace && obj.metadata.namespace !== namespace) return false;
    if (labels.length && !matchesLabels(labels, obj.metadata.labels)) return false;
    return fields.length === 0 || matchesFields(fields, this.fieldsOf(rt, obj));
  }

  /** Reads one object. */
  get(rt: ResourceType, namespace: string | undefined, name: string): Stored {
    const stored = this.collection(rt).items.get(objectKey(rt, namespace, name));
    if (!stored) throw notFound(rt.group, rt.resource, name);
    return stored;
  }

  /** Reads one object if present. */
  find(rt: ResourceType, namespace: string | undefined, name: string): Stored | undefined {
    return this.collection(rt).items.get(objectKey(rt, namespace, name));
  }

  /** Lists objects in key order, with selectors and limit/continue paging over a consistent snapshot. */
  list(rt: ResourceType, query: ListQuery): ListResult {
    const coll = this.collection(rt);
    let snapshot: Stored[];
    let listRv: number;
    let start = '';
    if (query.continueToken) {
      const token = decodeContinue(query.continueToken);
      const kept = coll.snapshots.get(token.rv);
      if (!kept || token.rv < coll.horizon) {
        throw expired(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
      snapshot = kept;
      listRv = token.rv;
      start = token.start;
    } else {
      this.checkListResourceVersion(coll, query);
      snapshot = coll.sorted();
      listRv = this.revision;
    }
    const items: Stored[] = [];
    const limit = query.limit && query.limit > 0 ? query.limit : Infinity;
    let index = start ? lowerBound(snapshot, start) : 0;
    let more = false;
    for (; index < snapshot.length; index++) {
      const stored = snapshot[index];
      if (!this.matches(rt, stored.obj, query.namespace, query.labelSelector, query.fieldSelector)) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(stored);
    }
    const result: ListResult = { items, resourceVersion: listRv };
    if (more) {
      const last = items[items.length - 1];
      result.continueToken = encodeContinue(listRv, `${storageKeyOf(last.obj)}\u0000`);
      if (!query.labelSelector.length && !query.fieldSelector.length) {
        result.remainingItemCount = snapshot
          .slice(index)
          .filter((s) => !query.namespace || s.obj.metadata.namespace === query.namespace).length;
      }
      coll.snapshots.set(listRv, snapshot);
      if (coll.snapshots.size > 32) coll.snapshots.delete(coll.snapshots.keys().next().value as number);
    }
    return result;
  }

  private checkListResourceVersion(coll: Collection, query: ListQuery): void {
    const requested = query.resourceVersion;
    if (!requested || requested === '0') return;
    const rv = Number(requested);
    if (!Number.isInteger(rv) || rv < 0) throw badRequest(`invalid resource version: ${requested}`);
    if (rv > this.revision) {
      throw new ApiError(504, 'Timeout', `Too large resource version: ${rv}, current: ${this.revision}`, {
        causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
        retryAfterSeconds: 1,
      });
    }
    if (query.resourceVersionMatch === 'Exact' && rv !== this.revision && rv < coll.horizon) {
      throw expired('The resourceVersion for the provided list is too old.');
    }
  }

  /**
   * Starts a watch: returns the initial events (synthetic ADDED for a watch without resourceVersion or
   * from "0", else the retained events after it) and subscribes the sink to later ones. Throws 410 for a
   * resourceVersion older than the retained window.
   */
  watch(rt: ResourceType, resourceVersion: string | undefined, sink: WatchSink): ChangeEvent[] {
    const coll = this.collection(rt);
    let initial: ChangeEvent[];
    if (!resourceVersion || resourceVersion === '0') {
      initial = coll.sorted().map((stored) => ({ type: 'ADDED', rv: stored.rv, stored }));
    } else {
      const rv = Number(resourceVersion);
      if (!Number.isInteger(rv) || rv < 0) throw badRequest(`invalid resource version: ${resourceVersion}`);
      if (rv < coll.horizon) throw expired(`too old resource version: ${rv} (${coll.horizon})`);
      if (rv > this.revision) {
        throw new ApiError(504, 'Timeout', `Too large resource version: ${rv}, current: ${this.revision}`, {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
          retryAfterSeconds: 1,
        });
      }
      initial = coll.events.filter((e) => e.rv > rv);
    }
    coll.watchers.add(sink);
    return initial;
  }

  /** Stops delivering events to a sink. */
  unwatch(rt: ResourceType, sink: WatchSink): void {
    this.collection(rt).watchers.delete(sink);
  }

  private commit(rt: ResourceType, type: ChangeEvent['type'], obj: KubeObject, prev?: Stored): Stored {
    const coll = this.collection(rt);
    const rv = ++this.revision;
    obj.metadata.resourceVersion = String(rv);
    const stored: Stored = { obj, json: JSON.stringify(obj), rv };
    const key = storageKeyOf(obj);
    if (type === 'DELETED') coll.items.delete(key);
    else coll.items.set(key, stored);
    if (type !== 'MODIFIED') coll.invalidateOrder();
    const ownedKey = `${rt.storage}\u0000${key}`;
    if (type !== 'DELETED' && obj.metadata.ownerReferences?.length)
      this.owned.set(ownedKey, { storage: rt.storage, key });
    else this.owned.delete(ownedKey);
    if (type !== 'DELETED' && obj.metadata.deletionTimestamp)
      this.terminating.set(ownedKey, { storage: rt.storage, key });
    else this.terminating.delete(ownedKey);
    const event: ChangeEvent = { type, rv, stored, prev };
    coll.events.push(event);
    while (coll.events.length > this.retainedEvents) coll.horizon = (coll.events.shift() as ChangeEvent).rv;
    for (const sink of coll.watchers) sink.onEvent(event);
    this.afterCommit(rt, event);
    this.scheduleControllers();
    return stored;
  }

  /** Objects that carry ownerReferences, for the garbage collector. */
  ownedObjects(): Stored[] {
    return this.resolveIndex(this.owned);
  }

  /** Objects being deleted (deletionTimestamp set, finalizers pending), for the controllers. */
  terminatingObjects(): { storage: string; stored: Stored }[] {
    const result: { storage: string; stored: Stored }[] = [];
    for (const { storage, key } of this.terminating.values()) {
      const stored = this.collections.get(storage)?.items.get(key);
      if (stored) result.push({ storage, stored });
    }
    return result;
  }

  private resolveIndex(index: Map<string, { storage: string; key: string }>): Stored[] {
    const result: Stored[] = [];
    for (const { storage, key } of index.values()) {
      const stored = this.collections.get(storage)?.items.get(key);
      if (stored) result.push(stored);
    }
    return result;
  }

  /** The resource type that stores an object of this apiVersion/kind. */
  typeOfKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.registry.findKind(apiVersion, kind);
  }

  /** Any served resource type of a storage. */
  typeOfStorage(storage: string): ResourceType | undefined {
    return this.registry.all().find((rt) => rt.storage === storage && !rt.fromStorage);
  }

  private afterCommit(rt: ResourceType, event: ChangeEvent): void {
    if (rt.group !== 'apiextensions.k8s.io' || rt.resource !== 'customresourcedefinitions') return;
    const crd = event.stored.obj;
    const crdName = crd.metadata.name;
    this.registry.remove((t) => t.custom?.crdName === crdName);
    if (event.type !== 'DELETED') crdResourceTypes(crd).forEach((t) => this.registry.add(t));
    else
      this.collections.delete(
        `${(crd.spec as { group: string }).group}/${(crd.spec as { names: { plural: string } }).names.plural}`,
      );
  }

  private checkNamespace(rt: ResourceType, namespace: string | undefined, name: string): void {
    if (!rt.namespaced) return;
    const ns = this.find(this.mustFind('', 'v1', 'namespaces'), undefined, namespace ?? '');
    if (!ns) throw notFound('', 'namespaces', namespace ?? '');
    if (ns.obj.metadata.deletionTimestamp) {
      throw forbidden(
        rt.group,
        rt.resource,
        name,
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  private checkCrdActive(rt: ResourceType): void {
    if (!rt.custom) return;
    const crd = this.find(
      this.mustFind('apiextensions.k8s.io', 'v1', 'customresourcedefinitions'),
      undefined,
      rt.custom.crdName,
    );
    if (crd?.obj.metadata.deletionTimestamp) {
      throw new ApiError(
        405,
        'MethodNotAllowed',
        'create not allowed while custom resource definition is terminating',
      );
    }
  }

  private validate(
    rt: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
    options: WriteOptions,
  ): KubeObject {
    const errors: InvalidField[] = [];
    if (options.subresource !== 'status') {
      errors.push(...validateObjectMeta(obj, nameRuleOf(rt), old === undefined));
    }
    let result = obj;
    if (rt.custom?.schema && this.validator) {
      const outcome = this.validator(rt.custom.schema, obj, old ? { oldObject: old } : {});
      result = outcome.object as KubeObject;
      errors.push(...outcome.errors.map((e) => ({ type: e.type, field: e.field, message: e.message })));
      const unknown = outcome.unknownFields ?? [];
      if (unknown.length && options.fieldValidation === 'Strict') {
        throw badRequest(`strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
      }
      if (unknown.length && options.fieldValidation !== 'Ignore') {
        options.warnings?.push(...unknown.map((f) => `unknown field "${f}"`));
      }
    }
    if (rt.validate) errors.push(...rt.validate(result, old));
    if (errors.length) throw invalid(rt.kind, rt.group, obj.metadata.name ?? '', errors);
    return result;
  }

  /** Creates an object (POST). Returns the stored version (or what would be stored, for dryRun). */
  create(rt: ResourceType, namespace: string | undefined, body: unknown, options: WriteOptions = {}): Stored {
    const incoming = this.checkBody(rt, body);
    let obj = this.fromView(rt, incoming);
    const meta = obj.metadata;
    if (rt.namespaced) {
      if (meta.namespace && meta.namespace !== namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      meta.namespace = namespace;
    } else {
      delete meta.namespace;
    }
    if (!meta.name && meta.generateName) meta.name = generateName(meta.generateName);
    this.checkNamespace(rt, namespace, meta.name ?? '');
    this.checkCrdActive(rt);
    for (const field of [
      'uid',
      'resourceVersion',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'managedFields',
      'selfLink',
    ]) {
      delete meta[field];
    }
    meta.creationTimestamp = nowTimestamp();
    meta.uid = randomUUID();
    if (rt.tracksGeneration) meta.generation = 1;
    else delete meta.generation;
    if (rt.statusSubresource && !rt.createKeepsStatus) {
      const initial = rt.initialStatus?.(obj);
      if (initial) obj.status = initial;
      else delete obj.status;
    }
    rt.applyDefaults?.(obj);
    obj = this.validate(rt, obj, undefined, options);
    if (rt.resource === 'customresourcedefinitions' && rt.group === 'apiextensions.k8s.io') {
      obj.status = establishedStatus(obj, meta.creationTimestamp);
    }
    if (this.find(rt, namespace, meta.name ?? ''))
      throw alreadyExists(rt.group, rt.resource, meta.name ?? '');
    if (options.dryRun) return { obj, json: JSON.stringify(obj), rv: this.revision };
    return this.commit(rt, 'ADDED', obj);
  }

  private checkBody(rt: ResourceType, body: unknown): KubeObject {
    if (!isObject(body)) throw badRequest('the body of the request must be a JSON or YAML object');
    const obj = body as unknown as KubeObject;
    const apiVersion = apiVersionOf(rt);
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) {
      throw badRequest(
        `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersion})`,
      );
    }
    if (obj.kind !== undefined && obj.kind !== rt.kind) {
      throw badRequest(
        `the kind in the data (${String(obj.kind)}) does not match the expected kind (${rt.kind})`,
      );
    }
    obj.apiVersion = apiVersion;
    obj.kind = rt.kind;
    if (!isObject(obj.metadata)) obj.metadata = {};
    return obj;
  }

  /**
   * Replaces an object (PUT), on the main resource or `/status`. A stale resourceVersion is a 409; a write
   * that changes nothing is not stored and keeps the resourceVersion.
   */
  update(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    options: WriteOptions = {},
  ): { stored: Stored; created: boolean } {
    const incoming = this.checkBody(rt, body);
    if (incoming.metadata.name !== undefined && incoming.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${incoming.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    if (rt.namespaced && incoming.metadata.namespace && incoming.metadata.namespace !== namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    const old = this.find(rt, namespace, name);
    if (!old) {
      if (rt.allowCreateOnUpdate && !options.subresource) {
        incoming.metadata.name = name;
        return { stored: this.create(rt, namespace, incoming, options), created: true };
      }
      throw notFound(rt.group, rt.resource, name);
    }
    if (incoming.metadata.uid && incoming.metadata.uid !== old.obj.metadata.uid) {
      throw conflict(
        rt.group,
        rt.resource,
        name,
        `Precondition failed: UID in precondition: ${incoming.metadata.uid}, UID in object meta: ${old.obj.metadata.uid}`,
      );
    }
    const requestedRv = incoming.metadata.resourceVersion;
    if (!requestedRv) {
      if (!rt.allowUnconditionalUpdate) {
        throw invalid(rt.kind, rt.group, name, [
          {
            type: 'FieldValueInvalid',
            field: 'metadata.resourceVersion',
            message: 'metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
          },
        ]);
      }
    } else if (requestedRv !== String(old.rv)) {
      throw conflict(rt.group, rt.resource, name);
    }
    return { stored: this.applyUpdate(rt, old, this.fromView(rt, incoming), options), created: false };
  }

  /**
   * Applies an already-checked new version of an object: keeps what the write may not change, validates,
   * bumps generation on spec changes, deletes the object when its last finalizer goes while deleting.
   */
  applyUpdate(rt: ResourceType, old: Stored, incoming: KubeObject, options: WriteOptions = {}): Stored {
    const oldObj = old.obj;
    let next: KubeObject;
    if (options.subresource === 'status') {
      next = clone(oldObj);
      if (incoming.status !== undefined) next.status = incoming.status;
      else delete next.status;
    } else if (options.subresource === 'finalize') {
      next = clone(oldObj);
      next.spec = {
        ...(next.spec as object),
        finalizers: (incoming.spec as { finalizers?: string[] } | undefined)?.finalizers ?? [],
      };
    } else {
      next = incoming;
      if (rt.statusSubresource) {
        if (oldObj.status !== undefined) next.status = clone(oldObj.status);
        else delete next.status;
      }
      const meta = next.metadata;
      for (const field of [
        'uid',
        'creationTimestamp',
        'deletionTimestamp',
        'deletionGracePeriodSeconds',
        'generation',
        'namespace',
        'name',
      ] as const) {
        if (oldObj.metadata[field] !== undefined)
          (meta as Record<string, unknown>)[field] = oldObj.metadata[field];
        else delete meta[field];
      }
      delete meta.managedFields;
      delete meta.selfLink;
      if (oldObj.metadata.deletionTimestamp) {
        const added = (meta.finalizers ?? []).filter((f) => !(oldObj.metadata.finalizers ?? []).includes(f));
        if (added.length) {
          throw invalid(rt.kind, rt.group, oldObj.metadata.name ?? '', [
            {
              type: 'FieldValueForbidden',
              field: 'metadata.finalizers',
              message: `metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`,
            },
          ]);
        }
      }
    }
    next.apiVersion = oldObj.apiVersion;
    next.kind = oldObj.kind;
    next.metadata.resourceVersion = String(old.rv);
    next = this.validate(rt, next, oldObj, options);
    if (rt.tracksGeneration) {
      next.metadata.generation = oldObj.metadata.generation ?? 1;
      if (options.subresource !== 'status' && contentChanged(oldObj, next, rt.statusSubresource)) {
        next.metadata.generation += 1;
      }
    }
    if (
      rt.resource === 'customresourcedefinitions' &&
      rt.group === 'apiextensions.k8s.io' &&
      options.subresource !== 'status'
    ) {
      next.status = { ...(next.status as JsonObject), ...establishedStatus(next, nowTimestamp()) };
      if (jsonEqual(stripTimes(next.status), stripTimes(oldObj.status)))
        next.status = clone(oldObj.status) as JsonObject;
    }
    if (jsonEqual(next, oldObj)) return old;
    if (options.dryRun) return { obj: next, json: JSON.stringify(next), rv: old.rv };
    if (next.metadata.deletionTimestamp && !hasPendingFinalizers(next)) {
      return this.commit(rt, 'DELETED', next, old);
    }
    return this.commit(rt, 'MODIFIED', next, old);
  }

  /**
   * Deletes an object (DELETE). With finalizers (or Orphan/Foreground propagation) it is only marked
   * (deletionTimestamp); otherwise it is removed. Returns the object and whether it is gone.
   */
  delete(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): { stored: Stored; deleted: boolean } {
    const old = this.get(rt, namespace, name);
    const meta = old.obj.metadata;
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== meta.uid) {
      throw conflict(
        rt.group,
        rt.resource,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${meta.uid}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== String(old.rv)) {
      throw conflict(
        rt.group,
        rt.resource,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.rv}`,
      );
    }
    const next = clone(old.obj);
    const finalizers = new Set(next.metadata.finalizers ?? []);
    if (!meta.deletionTimestamp) {
      if (rt.group === 'apiextensions.k8s.io' && rt.resource === 'customresourcedefinitions') {
        finalizers.add(CRD_CLEANUP_FINALIZER);
      }
      if (options.propagationPolicy === 'Orphan') finalizers.add('orphan');
      if (options.propagationPolicy === 'Foreground') finalizers.add('foregroundDeletion');
    }
    if (finalizers.size) next.metadata.finalizers = [...finalizers];
    if (finalizers.size === 0 && !hasPendingFinalizers(next)) {
      if (options.dryRun) return { stored: old, deleted: true };
      return { stored: this.commit(rt, 'DELETED', next, old), deleted: true };
    }
    if (meta.deletionTimestamp && jsonEqual(next, old.obj)) return { stored: old, deleted: false };
    if (!meta.deletionTimestamp) {
      next.metadata.deletionTimestamp = nowTimestamp();
      next.metadata.deletionGracePeriodSeconds = 0;
      if (next.metadata.generation) next.metadata.generation += 1;
      if (rt.group === '' && rt.resource === 'namespaces')
        next.status = { ...(next.status as object), phase: 'Terminating' };
    }
    if (options.dryRun)
      return { stored: { obj: next, json: JSON.stringify(next), rv: old.rv }, deleted: false };
    return { stored: this.commit(rt, 'MODIFIED', next, old), deleted: false };
  }
}

/** The finalizer kube-apiserver puts on a deleted CRD until its custom resources are gone. */
export const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

/** The `metav1.Time` fields of built-in kinds (serialized with second precision by kube-apiserver). */
const TIME_FIELDS = new Set([
  'lastTransitionTime',
  'lastProbeTime',
  'lastHeartbeatTime',
  'lastUpdateTime',
  'firstTimestamp',
  'lastTimestamp',
  'deprecatedFirstTimestamp',
  'deprecatedLastTimestamp',
  'startTime',
  'startedAt',
  'finishedAt',
]);

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Truncates the `metav1.Time` fields of a built-in object to seconds in place, as decoding into the typed
 * struct and encoding back does in kube-apiserver; returns the decode error for a malformed one.
 */
export function truncateTimes(node: unknown): string | undefined {
  if (Array.isArray(node)) {
    for (const item of node) {
      const problem = truncateTimes(item);
      if (problem) return problem;
    }
    return undefined;
  }
  if (!isObject(node)) return undefined;
  for (const [key, value] of Object.entries(node)) {
    if (TIME_FIELDS.has(key) && typeof value === 'string') {
      if (!RFC3339.test(value))
        return `parsing time ${JSON.stringify(value)} as "2006-01-02T15:04:05Z07:00": cannot parse`;
      node[key] = new Date(Date.parse(value)).toISOString().replace(/\.\d{3}Z$/, 'Z');
    } else if (typeof value === 'object' && value !== null) {
      const problem = truncateTimes(value);
      if (problem) return problem;
    }
  }
  return undefined;
}

function hasPendingFinalizers(obj: KubeObject): boolean {
  if (obj.metadata.finalizers?.length) return true;
  const specFinalizers = (obj.spec as { finalizers?: string[] } | undefined)?.finalizers;
  return obj.kind === 'Namespace' && obj.apiVersion === 'v1' && (specFinalizers?.length ?? 0) > 0;
}

/** Whether anything but metadata (and status, with a status subresource) changed. */
function contentChanged(old: KubeObject, next: KubeObject, ignoreStatus: boolean): boolean {
  const strip = (o: KubeObject): Record<string, unknown> => {
    const rest: Record<string, unknown> = { ...o };
    delete rest.metadata;
    if (ignoreStatus) delete rest.status;
    return rest;
  };
  return !jsonEqual(strip(old), strip(next));
}

function stripTimes(status: unknown): unknown {
  if (!isObject(status)) return status;
  const conditions = Array.isArray(status.conditions)
    ? status.conditions.map((c) => (isObject(c) ? { ...c, lastTransitionTime: null } : c))
    : status.conditions;
  return { ...status, conditions };
}

function lowerBound(items: Stored[], key: string): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (storageKeyOf(items[mid].obj) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Encodes a continue token like kube-apiserver (base64 JSON of version, list revision and next key). */
export function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

/** Decodes a continue token; a malformed one is a 400. */
export function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      v: string;
      rv: number;
      start: string;
    };
    if (parsed.v !== 'meta.k8s.io/v1' || !Number.isInteger(parsed.rv) || typeof parsed.start !== 'string')
      throw new Error('bad token');
    return { rv: parsed.rv, start: parsed.start };
  } catch {
    throw badRequest(
      'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
    );
  }
}
