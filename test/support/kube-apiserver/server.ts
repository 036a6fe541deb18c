/**
 * The HTTP front of the emulator: routes kube-apiserver URLs to the store, negotiates JSON, Table and
 * PartialObjectMetadata answers, streams watches, applies injected faults and records every resource
 * request.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { createLogger } from '../../../common/logger.js';
import { startControllers } from './controllers.js';
import * as discovery from './discovery.js';
import { decideEviction } from './eviction.js';
import { openApiResponse } from './openapi.js';
import { PROTOBUF_MEDIA_TYPE, ProtobufDecodeError, decodeKubernetesProtobuf } from './protobuf.js';
import { applyJsonPatch, applyMergePatch, isObject, strategicMerge, type Json } from './patch.js';
import { apiVersionOf, type KubeObject, type ResourceType } from './resources.js';
import { checkFieldSelector, parseFieldSelector, parseLabelSelector } from './selectors.js';
import {
  ApiError,
  badRequest,
  failureStatus,
  internalError,
  methodNotAllowed,
  reasonForCode,
  successStatus,
  unsupportedMediaType,
  type StatusBody,
} from './status.js';
import {
  ClusterStore,
  type DeleteOptions,
  type SchemaValidator,
  type Stored,
  type WriteOptions,
} from './store.js';
import { buildTable, type IncludeObject } from './table.js';
import { WatchStream } from './watch-stream.js';

/** One resource request as recorded by the request log. */
export interface RequestLogEntry {
  time: number;
  verb: string;
  resource: string;
  group: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  status: number;
  contentType?: string;
}

/** An injected error rule: requests matching verb and resource fail with `code` at `rate` (0..1). */
export interface ErrorRule {
  verb?: string;
  resource?: string;
  rate: number;
  /** HTTP code of the injected Status; default 500. */
  code?: number;
  /** Fail only this many matching requests, then drop the rule; default: no limit. */
  count?: number;
}

/** Settings of the HTTP front. */
export interface EmulatorSettings {
  retainedEvents: number;
  bookmarkIntervalMs: number;
  validator?: SchemaValidator;
  /** Seed of the fault-injection random numbers, so that a faulty run can be replayed; default: Math.random. */
  faultSeed?: number;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RequestInfo {
  rt: ResourceType;
  verb: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
];

const log = createLogger('kube-apiserver-emulator');

const DEFAULT_WATCH_TIMEOUT_MS = 1800 * 1000;
const MAX_BODY_BYTES = 32 * 1024 * 1024;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

/** The Table/metadata form an Accept header asks for, if any. */
function negotiate(
  accept: string | undefined,
): 'Table' | 'PartialObjectMetadata' | 'PartialObjectMetadataList' | undefined {
  for (const part of (accept ?? '').split(',')) {
    const params = new Map(
      part
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=') as [string, string]),
    );
    const as = params.get('as');
    if (as && params.get('g') === 'meta.k8s.io') {
      if (as === 'Table' || as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') return as;
    }
    if (mediaType(part) === 'application/json' && !as) return undefined;
  }
  return undefined;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 33554432');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseBody(body: Buffer, contentType: string): unknown {
  if (contentType === PROTOBUF_MEDIA_TYPE) {
    try {
      return decodeKubernetesProtobuf(body);
    } catch (err) {
      if (!(err instanceof ProtobufDecodeError)) throw err;
      throw new ApiError(415, 'UnsupportedMediaType', `protobuf body not decoded: ${err.message}`, {
        causes: [{ reason: 'UnexpectedServerResponse', message: contentType }],
      });
    }
  }
  const text = body.toString('utf8');
  try {
    if (contentType.includes('yaml')) return parseYaml(text) as unknown;
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
}

/** The emulated kube-apiserver. */
export class EmulatorServer {
  readonly store: ClusterStore;
  readonly requestLog: RequestLogEntry[] = [];
  private readonly server: http.Server;
  private readonly watches = new Set<WatchStream>();
  private latencyMs = 0;
  private errorRules: ErrorRule[] = [];
  private address = '127.0.0.1:0';
  private readonly faultRandom: () => number;

  constructor(private readonly settings: EmulatorSettings) {
    this.faultRandom = settings.faultSeed === undefined ? Math.random : seededRandom(settings.faultSeed);
    this.store = new ClusterStore(settings.retainedEvents, settings.validator);
    startControllers(this.store);
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.sendError(res, err));
    });
    this.server.keepAliveTimeout = 60_000;
  }

  /** Starts listening on 127.0.0.1; returns the base URL. */
  async listen(port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    const { port: actual } = this.server.address() as AddressInfo;
    this.address = `127.0.0.1:${actual}`;
    return `http://${this.address}`;
  }

  /** Closes every watch and connection and stops listening. */
  async close(): Promise<void> {
    this.dropWatches();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Adds latency to every resource request. */
  setLatency(ms: number): void {
    this.latencyMs = Math.max(0, ms);
  }

  /** Adds (or replaces, for the same verb and resource) an error rule. */
  setErrorRate(rule: ErrorRule): void {
    this.errorRules = this.errorRules.filter((r) => r.verb !== rule.verb || r.resource !== rule.resource);
    if (rule.rate > 0) this.errorRules.push({ ...rule });
  }

  /** Removes every error rule. */
  clearErrors(): void {
    this.errorRules = [];
  }

  /** Closes every open watch stream now (clients see a clean end of stream). */
  dropWatches(): void {
    for (const stream of [...this.watches]) stream.close();
  }

  /** Number of open watch streams. */
  get openWatches(): number {
    return this.watches.size;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const segments = url.pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    if (segments[0] !== 'api' && segments[0] !== 'apis') return this.handleNonResource(url, res);
    const groupName = segments[0] === 'api' ? '' : segments[1];
    const version = segments[0] === 'api' ? segments[1] : segments[2];
    const rest = segments.slice(segments[0] === 'api' ? 2 : 3);
    if (!version || rest.length === 0) return this.handleDiscovery(segments, groupName, version, res);

    const info = this.resolve(groupName, version, rest, method, url);
    if (!info)
      return this.sendStatus(
        res,
        failureStatus(404, 'NotFound', 'the server could not find the requested resource'),
      );
    const contentType = req.headers['content-type'];
    const entry: RequestLogEntry = {
      time: Date.now(),
      verb: info.verb,
      resource: info.rt.resource,
      group: info.rt.group,
      status: 0,
    };
    if (info.subresource) entry.subresource = info.subresource;
    if (info.namespace) entry.namespace = info.namespace;
    if (info.name) entry.name = info.name;
    if (contentType) entry.contentType = contentType;
    res.on('finish', () => {
      entry.status = res.statusCode;
    });
    this.requestLog.push(entry);

    if (this.latencyMs > 0) await sleep(this.latencyMs);
    const fault = this.errorRules.find(
      (r) =>
        (!r.verb || r.verb === info.verb) &&
        (!r.resource || r.resource === info.rt.resource) &&
        this.faultRandom() < r.rate,
    );
    if (fault) {
      if (fault.count !== undefined && --fault.count <= 0)
        this.errorRules = this.errorRules.filter((r) => r !== fault);
      const code = fault.code ?? 500;
      const message = code === 500 ? 'Internal error occurred: injected fault' : `injected fault (${code})`;
      entry.status = code;
      return this.sendStatus(res, failureStatus(code, reasonForCode(code), message));
    }
    if (info.verb === 'watch') {
      entry.status = 200;
      return this.startWatch(info, url, req, res);
    }
    const body = method === 'GET' ? Buffer.alloc(0) : await readBody(req);
    return this.dispatch(info, url, req, res, body);
  }

  private resolve(
    groupName: string,
    version: string,
    rest: string[],
    method: string,
    url: URL,
  ): RequestInfo | undefined {
    let namespace: string | undefined;
    let resource: string;
    let name: string | undefined;
    let subresource: string | undefined;
    const namespaceSub = rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize');
    if (rest[0] === 'namespaces' && rest.length >= 3 && !namespaceSub) {
      [, namespace, resource, name, subresource] = rest;
    } else {
      [resource, name, subresource] = rest;
    }
    if (rest.length > 5) return undefined;
    const rt = this.store.registry.find(groupName, version, resource);
    if (!rt) return undefined;
    if (namespace !== undefined && !rt.namespaced) return undefined;
    if (rt.namespaced && name !== undefined && namespace === undefined) return undefined;
    if (subresource && subresource !== 'status' && !rt.extraSubresources?.includes(subresource))
      return undefined;
    if (subresource === 'status' && !rt.statusSubresource) return undefined;
    const watch = url.searchParams.get('watch');
    const isWatch = watch === 'true' || watch === '1';
    const verbs: Record<string, string> = name
      ? { GET: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete', POST: 'create' }
      : { GET: isWatch ? 'watch' : 'list', POST: 'create', DELETE: 'deletecollection' };
    const verb = verbs[method];
    if (!verb) return { rt, verb: method.toLowerCase(), namespace, name, subresource };
    return { rt, verb, namespace, name, subresource };
  }

  private async dispatch(
    info: RequestInfo,
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
  ): Promise<void> {
    const { rt, namespace, name, subresource } = info;
    const params = url.searchParams;
    const dryRun = params.getAll('dryRun').includes('All');
    const warnings: string[] = [];
    const fieldValidation = (params.get('fieldValidation') ?? 'Warn') as 'Strict' | 'Warn' | 'Ignore';
    if (!['Strict', 'Warn', 'Ignore'].includes(fieldValidation)) {
      throw badRequest(
        `fieldValidation: Unsupported value: "${fieldValidation}": supported values: "Ignore", "Strict", "Warn"`,
      );
    }
    const writeOptions = { dryRun, fieldValidation, warnings };
    const flushWarnings = (): void => {
      if (warnings.length)
        res.setHeader(
          'Warning',
          warnings.map((w) => `299 - ${JSON.stringify(w)}`),
        );
    };
    const contentType = mediaType(req.headers['content-type']);
    const accept = negotiate(req.headers.accept);
    switch (info.verb) {
      case 'get': {
        if (subresource && subresource !== 'status') throw methodNotAllowed();
        const stored = this.store.get(rt, namespace, name ?? '');
        return this.sendObjects(res, 200, rt, [stored], accept, params, false);
      }
      case 'list': {
        const result = this.store.list(rt, {
          namespace,
          labelSelector: parseLabelSelector(params.get('labelSelector')),
          fieldSelector: this.fieldSelector(rt, params.get('fieldSelector')),
          limit: params.has('limit') ? Number(params.get('limit')) : undefined,
          continueToken: params.get('continue') ?? undefined,
          resourceVersion: params.get('resourceVersion') ?? undefined,
          resourceVersionMatch: params.get('resourceVersionMatch') ?? undefined,
        });
        const listMeta: Record<string, unknown> = { resourceVersion: String(result.resourceVersion) };
        if (result.continueToken) listMeta.continue = result.continueToken;
        if (result.remainingItemCount !== undefined) listMeta.remainingItemCount = result.remainingItemCount;
        return this.sendObjects(res, 200, rt, result.items, accept, params, true, listMeta);
      }
      case 'create': {
        if (subresource === 'eviction') return this.evict(info, res, parseBody(body, contentType), dryRun);
        if (subresource) throw methodNotAllowed();
        if (rt.namespaced && namespace === undefined) throw methodNotAllowed();
        const stored = this.store.create(rt, namespace, parseBody(body, contentType), writeOptions);
        flushWarnings();
        return this.sendObjects(res, 201, rt, [stored], undefined, params, false);
      }
      case 'update': {
        if (subresource === 'eviction') throw methodNotAllowed();
        const { stored, created } = this.store.update(
          rt,
          namespace,
          name ?? '',
          parseBody(body, contentType),
          {
            dryRun,
            subresource,
          },
        );
        return this.sendObjects(res, created ? 201 : 200, rt, [stored], undefined, params, false);
      }
      case 'patch': {
        if (subresource && subresource !== 'status') throw methodNotAllowed();
        const stored = this.patch(rt, namespace, name ?? '', contentType, body, {
          ...writeOptions,
          subresource,
        });
        flushWarnings();
        return this.sendObjects(res, 200, rt, [stored], undefined, params, false);
      }
      case 'delete': {
        if (subresource) throw methodNotAllowed();
        const options = this.deleteOptions(body, contentType, params);
        const { stored, deleted } = this.store.delete(rt, namespace, name ?? '', options);
        if (deleted && !rt.returnDeletedObject) {
          return this.sendStatus(
            res,
            successStatus(200, {
              name,
              group: rt.group || undefined,
              kind: rt.resource,
              uid: stored.obj.metadata.uid,
            }),
          );
        }
        return this.sendObjects(res, 200, rt, [stored], undefined, params, false);
      }
      case 'deletecollection': {
        const options = this.deleteOptions(body, contentType, params);
        const { items } = this.store.list(rt, {
          namespace,
          labelSelector: parseLabelSelector(params.get('labelSelector')),
          fieldSelector: this.fieldSelector(rt, params.get('fieldSelector')),
        });
        for (const item of items) {
          try {
            this.store.delete(rt, item.obj.metadata.namespace, item.obj.metadata.name ?? '', options);
          } catch (err) {
            if (!(err instanceof ApiError && err.code === 404)) throw err;
          }
        }
        return this.sendStatus(res, successStatus(200));
      }
      default:
        throw methodNotAllowed();
    }
  }

  private fieldSelector(rt: ResourceType, text: string | null): ReturnType<typeof parseFieldSelector> {
    const selector = parseFieldSelector(text);
    const sample: KubeObject = { metadata: {} };
    checkFieldSelector(selector, Object.keys(this.store.fieldsOf(rt, sample)));
    return selector;
  }

  private deleteOptions(body: Buffer, contentType: string, params: URLSearchParams): DeleteOptions {
    const parsed =
      body.toString('utf8').trim() !== ''
        ? (parseBody(body, contentType === PROTOBUF_MEDIA_TYPE ? contentType : 'application/json') as Record<
            string,
            unknown
          >)
        : {};
    const options: DeleteOptions = {};
    const policy = (params.get('propagationPolicy') ??
      parsed.propagationPolicy) as DeleteOptions['propagationPolicy'];
    const orphan = params.get('orphanDependents') ?? parsed.orphanDependents;
    if (policy) {
      if (!['Orphan', 'Background', 'Foreground'].includes(policy)) {
        throw badRequest(
          `propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`,
        );
      }
      options.propagationPolicy = policy;
    } else if (orphan === true || orphan === 'true') {
      options.propagationPolicy = 'Orphan';
    }
    if (isObject(parsed.preconditions))
      options.preconditions = parsed.preconditions as DeleteOptions['preconditions'];
    const dryRun = [...params.getAll('dryRun'), ...((parsed.dryRun as string[] | undefined) ?? [])];
    options.dryRun = dryRun.includes('All');
    return options;
  }

  /** Applies a PATCH in the requested format to the current object and stores the result as an update. */
  private patch(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    contentType: string,
    body: Buffer,
    options: WriteOptions,
  ): Stored {
    const accepted = rt.patchMeta
      ? PATCH_TYPES
      : PATCH_TYPES.filter((t) => !t.startsWith('application/strategic'));
    if (!accepted.includes(contentType)) throw unsupportedMediaType(contentType, accepted);
    const patchDoc = parseBody(body, 'application/json') as Json;
    const old = this.store.get(rt, namespace, name);
    const current = JSON.parse(this.store.viewJson(rt, old)) as Json;
    let patched: Json;
    if (contentType === 'application/json-patch+json') patched = applyJsonPatch(current, patchDoc);
    else if (contentType === 'application/merge-patch+json') patched = applyMergePatch(current, patchDoc);
    else patched = strategicMerge(current, patchDoc, rt.patchMeta ?? {});
    if (!isObject(patched)) throw badRequest('the patched object is not a JSON object');
    const obj = patched as unknown as KubeObject;
    if (!isObject(obj.metadata)) obj.metadata = {};
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== null && rv !== String(old.rv)) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${rt.group ? `${rt.resource}.${rt.group}` : rt.resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, group: rt.group || undefined, kind: rt.resource },
      );
    }
    obj.metadata.name = name;
    obj.apiVersion = apiVersionOf(rt);
    obj.kind = rt.kind;
    return this.store.applyUpdate(rt, old, this.store.fromView(rt, obj), options);
  }

  private evict(info: RequestInfo, res: ServerResponse, body: unknown, dryRun: boolean): void {
    const { rt, namespace, name } = info;
    const eviction = (isObject(body) ? body : {}) as {
      metadata?: { name?: string };
      deleteOptions?: Record<string, unknown>;
    };
    if (eviction.metadata?.name && eviction.metadata.name !== name) {
      throw badRequest('name in URL does not match name in Eviction object');
    }
    const pod = this.store.get(rt, namespace, name ?? '');
    const pdbType = this.store.mustFind('policy', 'v1', 'poddisruptionbudgets');
    const pdbs = this.store.storedIn(pdbType.storage).map((s) => s.obj);
    const pods = this.store.storedIn(rt.storage).map((s) => s.obj);
    decideEviction(pod.obj, pdbs, pods);
    const options: DeleteOptions = { dryRun };
    if (isObject(eviction.deleteOptions?.preconditions)) {
      options.preconditions = eviction.deleteOptions.preconditions as DeleteOptions['preconditions'];
    }
    this.store.delete(rt, namespace, name ?? '', options);
    this.sendStatus(res, successStatus(201));
  }

  private startWatch(info: RequestInfo, url: URL, req: IncomingMessage, res: ServerResponse): void {
    const params = url.searchParams;
    const accept = negotiate(req.headers.accept);
    const timeoutSeconds = Number(params.get('timeoutSeconds') ?? 0);
    const stream = new WatchStream(
      this.store,
      info.rt,
      res,
      {
        namespace: info.namespace,
        labelSelector: parseLabelSelector(params.get('labelSelector')),
        fieldSelector: this.fieldSelector(info.rt, params.get('fieldSelector')),
        allowBookmarks: params.get('allowWatchBookmarks') === 'true',
        sendInitialEvents: params.get('sendInitialEvents') === 'true',
        timeoutMs: timeoutSeconds > 0 ? timeoutSeconds * 1000 : DEFAULT_WATCH_TIMEOUT_MS,
        bookmarkIntervalMs: this.settings.bookmarkIntervalMs,
        table:
          accept === 'Table'
            ? ((params.get('includeObject') as IncludeObject | null) ?? 'Metadata')
            : undefined,
      },
      (s) => this.watches.delete(s),
    );
    let resourceVersion = params.get('resourceVersion') ?? undefined;
    if (params.get('sendInitialEvents') === 'true') resourceVersion = '';
    try {
      const initial = this.store.watch(info.rt, resourceVersion, stream);
      this.watches.add(stream);
      stream.start(initial);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      // Like kube-apiserver, a resourceVersion that parsed but cannot be served fails inside the stream.
      stream.start([]);
      stream.fail(err.toStatus());
    }
  }

  private sendObjects(
    res: ServerResponse,
    code: number,
    rt: ResourceType,
    items: Stored[],
    accept: ReturnType<typeof negotiate>,
    params: URLSearchParams,
    asList: boolean,
    listMeta: Record<string, unknown> = {},
  ): void {
    if (accept === 'Table') {
      const objects = items.map((s) => JSON.parse(this.store.viewJson(rt, s)) as KubeObject);
      const include = (params.get('includeObject') as IncludeObject | null) ?? 'Metadata';
      const meta = asList ? listMeta : { resourceVersion: String(items[0]?.rv ?? '') };
      return this.send(res, code, JSON.stringify(buildTable(rt, objects, meta, include)));
    }
    if (accept === 'PartialObjectMetadata' || accept === 'PartialObjectMetadataList') {
      const partial = items.map((s) => ({
        kind: 'PartialObjectMetadata',
        apiVersion: 'meta.k8s.io/v1',
        metadata: s.obj.metadata,
      }));
      const body = asList
        ? {
            kind: 'PartialObjectMetadataList',
            apiVersion: 'meta.k8s.io/v1',
            metadata: listMeta,
            items: partial,
          }
        : partial[0];
      return this.send(res, code, JSON.stringify(body));
    }
    if (!asList) return this.send(res, code, this.store.viewJson(rt, items[0]));
    const head = JSON.stringify({ kind: rt.listKind, apiVersion: apiVersionOf(rt), metadata: listMeta });
    const parts = items.map((s) => this.store.viewJson(rt, s));
    this.send(res, code, `${head.slice(0, -1)},"items":[${parts.join(',')}]}`);
  }

  private send(res: ServerResponse, code: number, json: string, contentType = 'application/json'): void {
    const headers: Record<string, string | number> = {
      'Content-Type': contentType,
      'Content-Length': Buffer.byteLength(json),
      'Cache-Control': 'no-cache, private',
    };
    if (code === 429 || code === 503) headers['Retry-After'] = 1;
    res.writeHead(code, headers);
    res.end(json);
  }

  private sendStatus(res: ServerResponse, status: StatusBody): void {
    this.send(res, status.code, JSON.stringify(status));
  }

  private sendError(res: ServerResponse, err: unknown): void {
    if (!(err instanceof ApiError)) {
      // A bug in the emulator, not an API answer: make it visible in the test output.
      log.error('Failed to serve Kubernetes API request', { err: (err as Error)?.stack ?? String(err) });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const status =
      err instanceof ApiError
        ? err.toStatus()
        : internalError((err as Error)?.message ?? String(err)).toStatus();
    this.sendStatus(res, status);
  }

  private handleDiscovery(
    segments: string[],
    groupName: string,
    version: string | undefined,
    res: ServerResponse,
  ): void {
    const types = this.store.registry.all();
    let body: Record<string, unknown> | undefined;
    if (segments.length === 1 && segments[0] === 'api') body = discovery.coreVersions(this.address);
    else if (segments.length === 1) body = discovery.groupList(types);
    else if (segments[0] === 'apis' && segments.length === 2) body = discovery.group(groupName, types);
    else if (version) body = discovery.resourceList(groupName, version, types);
    if (!body)
      return this.sendStatus(
        res,
        failureStatus(404, 'NotFound', 'the server could not find the requested resource'),
      );
    this.send(res, 200, JSON.stringify(body));
  }

  private handleNonResource(url: URL, res: ServerResponse): void {
    const path = url.pathname;
    if (path === '/version') return this.send(res, 200, JSON.stringify(discovery.versionInfo()));
    if (['/healthz', '/livez', '/readyz'].includes(path))
      return this.send(res, 200, 'ok', 'text/plain; charset=utf-8');
    const openApi = openApiResponse(path, this.store.registry.all());
    if (openApi) {
      res.writeHead(200, { 'Content-Type': openApi.contentType, 'Content-Length': openApi.body.length });
      res.end(openApi.body);
      return;
    }
    this.sendStatus(res, failureStatus(404, 'NotFound', 'the server could not find the requested resource'));
  }

  /** The server's `host:port`. */
  get hostPort(): string {
    return this.address;
  }
}
