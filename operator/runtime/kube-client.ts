import {
  ApiException,
  HttpMethod,
  KubeConfig,
  PatchStrategy,
  RequestContext,
  type Configuration,
  createConfiguration,
  ServerConfiguration,
} from '@kubernetes/client-node';

/** The `metav1.Status` body kube-apiserver returns with an error. */
export interface StatusBody {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    kind?: string;
    causes?: Array<{ reason?: string; message?: string; field?: string }>;
  };
}

/** A list response (`*List`) as JSON. */
export interface ListResponse<T> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** Query parameters of a request. */
export type Query = Record<string, string | number | boolean | undefined>;

/** Content types of the PATCH flavours. */
export const MERGE_PATCH = PatchStrategy.MergePatch;
/** RFC 6902 JSON patch. */
export const JSON_PATCH = PatchStrategy.JsonPatch;

/**
 * A JSON REST client for any Kubernetes path, on client-node's configuration, authentication and HTTP
 * library. It returns plain JSON (timestamps stay RFC 3339 strings, exactly as watch events carry them), so
 * the informer caches hold one representation whether an object came from a list or from a watch.
 * Non-2xx answers reject with client-node's `ApiException` whose `body` is the parsed `metav1.Status`.
 */
export class KubeClient {
  private readonly configuration: Configuration;

  constructor(readonly kubeConfig: KubeConfig) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('Kubeconfig has no current cluster');
    this.configuration = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kubeConfig },
    });
  }

  /** GET one object. */
  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>(HttpMethod.GET, path, { query });
  }

  /** GET one page of a collection. */
  list<T>(path: string, query?: Query): Promise<ListResponse<T>> {
    return this.request<ListResponse<T>>(HttpMethod.GET, path, { query });
  }

  /** POST a new object to a collection path. */
  create<T>(collectionPath: string, body: unknown): Promise<T> {
    return this.request<T>(HttpMethod.POST, collectionPath, { body });
  }

  /** PUT a whole object (its `metadata.resourceVersion` makes it a compare-and-swap). */
  replace<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>(HttpMethod.PUT, path, { body });
  }

  /** PATCH with an explicit content type (merge patch by default). */
  patch<T>(path: string, body: unknown, contentType: string = MERGE_PATCH): Promise<T> {
    return this.request<T>(HttpMethod.PATCH, path, { body, contentType });
  }

  /** DELETE one object (background propagation unless told otherwise; with `uid`, only that object). */
  delete(
    path: string,
    options: { propagationPolicy?: 'Background' | 'Foreground' | 'Orphan'; uid?: string } = {},
  ) {
    return this.request<StatusBody>(HttpMethod.DELETE, path, {
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
    method: HttpMethod,
    path: string,
    options: { query?: Query; body?: unknown; contentType?: string } = {},
  ): Promise<T> {
    const context: RequestContext = this.configuration.baseServer.makeRequestContext(path, method);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) context.setQueryParam(name, String(value));
    }
    context.setHeaderParam('Accept', 'application/json');
    if (options.body !== undefined) {
      context.setHeaderParam('Content-Type', options.contentType ?? 'application/json');
      context.setBody(JSON.stringify(options.body));
    }
    await this.configuration.authMethods.default?.applySecurityAuthentication(context);
    const response = await this.configuration.httpApi.send(context).toPromise();
    const text = await response.body.text();
    const parsed = parseJson(text);
    if (response.httpStatusCode >= 200 && response.httpStatusCode < 300) return parsed as T;
    const status = (parsed ?? {}) as StatusBody;
    throw new KubeApiError(method, path, response.httpStatusCode, status, text, response.headers);
  }
}

/**
 * A failed API request: client-node's `ApiException` (same `code` and `body`), with a one-line message
 * naming the request, the HTTP status and the server's reason, fit for logs, Events and conditions.
 */
export class KubeApiError extends ApiException<StatusBody> {
  constructor(
    method: string,
    path: string,
    code: number,
    status: StatusBody,
    text: string,
    headers: Record<string, string>,
  ) {
    super(code, '', status, headers);
    this.name = 'KubeApiError';
    this.message = `${method} ${path} failed with HTTP ${code}: ${status.message ?? text.slice(0, 200)}`;
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The HTTP status of an API error, or undefined for anything else (network errors, bugs). */
export function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown; statusCode?: unknown } | undefined)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** True for a 404 Not Found. */
export function isNotFound(err: unknown): boolean {
  return httpStatusOf(err) === 404;
}

/** True for a 409 Conflict (stale resourceVersion, or AlreadyExists on create). */
export function isConflict(err: unknown): boolean {
  return httpStatusOf(err) === 409;
}

/** True when a create failed because the object exists (409 with reason AlreadyExists). */
export function isAlreadyExists(err: unknown): boolean {
  return (
    err instanceof ApiException && err.code === 409 && (err.body as StatusBody)?.reason === 'AlreadyExists'
  );
}

/** A short, log-friendly description of any error. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
