import type { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, parseJson, type StatusBody } from './errors.js';
import type { KubeMethod, KubeTransport, Query } from './transport.js';

export {
  KubeApiError,
  describeError,
  httpStatusOf,
  isAlreadyExists,
  isConflict,
  isNotFound,
  type StatusBody,
} from './errors.js';
export type { KubeTransport, Query } from './transport.js';

/** A list response (`*List`) as JSON. */
export interface ListResponse<T> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** JSON merge patch (RFC 7386), the default of {@link KubeClient.patch}. */
export const MERGE_PATCH = 'application/merge-patch+json';
/** RFC 6902 JSON patch. */
export const JSON_PATCH = 'application/json-patch+json';

/**
 * A JSON REST client for any Kubernetes path, over a {@link KubeTransport}. It returns plain JSON
 * (timestamps stay RFC 3339 strings, exactly as watch events carry them), so the informer caches hold one
 * representation whether an object came from a list or from a watch. Non-2xx answers reject with a
 * {@link KubeApiError} whose `code` is the HTTP status and `body` the parsed `metav1.Status`.
 *
 * Built on a client-node `KubeConfig` (the operator), requests go through client-node's HTTP stack, loaded
 * on first use; built on a transport such as `HttpTransport` (the in-cluster agent), client-node is never
 * loaded, which keeps the agent's resident memory about 60 MiB lower.
 */
export class KubeClient {
  /** How requests reach the API server (also the informers' watches). */
  readonly transport: KubeTransport;

  constructor(source: KubeConfig | KubeTransport) {
    this.transport = isTransport(source) ? source : lazyClientNodeTransport(source);
  }

  /** GET one object. */
  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  /** GET one page of a collection. */
  list<T>(path: string, query?: Query): Promise<ListResponse<T>> {
    return this.request<ListResponse<T>>('GET', path, { query });
  }

  /** POST a new object to a collection path. */
  create<T>(collectionPath: string, body: unknown): Promise<T> {
    return this.request<T>('POST', collectionPath, { body });
  }

  /** PUT a whole object (its `metadata.resourceVersion` makes it a compare-and-swap). */
  replace<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body });
  }

  /** PATCH with an explicit content type (merge patch by default). */
  patch<T>(path: string, body: unknown, contentType: string = MERGE_PATCH): Promise<T> {
    return this.request<T>('PATCH', path, { body, contentType });
  }

  /** DELETE one object (background propagation unless told otherwise; with `uid`, only that object). */
  delete(
    path: string,
    options: { propagationPolicy?: 'Background' | 'Foreground' | 'Orphan'; uid?: string } = {},
  ) {
    return this.request<StatusBody>('DELETE', path, {
      body: {
        kind: 'DeleteOptions',
        apiVersion: 'v1',
        propagationPolicy: options.propagationPolicy ?? 'Background',
        ...(options.uid ? { preconditions: { uid: options.uid } } : {}),
      },
    });
  }

  /** Sends one request and parses the JSON answer. */
  async request<T>(
    method: KubeMethod,
    path: string,
    options: { query?: Query; body?: unknown; contentType?: string } = {},
  ): Promise<T> {
    const response = await this.transport.request({
      method,
      path,
      query: options.query,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      contentType: options.contentType,
    });
    const parsed = parseJson(response.body);
    if (response.status >= 200 && response.status < 300) return parsed as T;
    const status = (parsed ?? {}) as StatusBody;
    throw new KubeApiError(method, path, response.status, status, response.body, response.headers);
  }
}

function isTransport(source: KubeConfig | KubeTransport): source is KubeTransport {
  const candidate = source as Partial<KubeTransport>;
  return typeof candidate.request === 'function' && typeof candidate.watch === 'function';
}

/**
 * The client-node transport of a KubeConfig, imported when the first request goes out: whoever holds a
 * KubeConfig has loaded client-node already, and this module stays importable without it (the agent).
 */
function lazyClientNodeTransport(kubeConfig: KubeConfig): KubeTransport {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('Kubeconfig has no current cluster');
  let loaded: Promise<KubeTransport> | undefined;
  const load = () =>
    (loaded ??= import('./client-node-transport.js').then((m) => new m.ClientNodeTransport(kubeConfig)));
  return {
    server: cluster.server,
    request: async (request) => (await load()).request(request),
    watch: async (path, query, onEvent, done) => (await load()).watch(path, query, onEvent, done),
  };
}
