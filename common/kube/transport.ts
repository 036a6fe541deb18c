/**
 * The seam between the Kubernetes API clients (`KubeClient`, `Informer`) and the HTTP stack that carries
 * their requests. The operator uses client-node's stack (common/kube/client-node-transport.ts); the
 * in-cluster agent uses {@link HttpTransport} on `node:http`/`node:https`, so it never loads client-node.
 */

/** Query parameters of a request; `undefined` values are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

/** HTTP methods the clients use. */
export type KubeMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One API request. */
export interface KubeRequest {
  method: KubeMethod;
  /** Path from the server root, e.g. `/api/v1/nodes/a`. */
  path: string;
  query?: Query;
  /** The serialised body (JSON text). */
  body?: string;
  /** Content type of the body (default `application/json`). */
  contentType?: string;
}

/** The answer to a {@link KubeRequest}, whatever its status. */
export interface KubeResponse {
  status: number;
  /** The body as text (`''` when empty). */
  body: string;
  headers: Record<string, string>;
}

/** Called for each event of a watch stream: its `type` and `object`, and the whole event. */
export type WatchEventCallback = (type: string, object: unknown, event: unknown) => void;

/**
 * Called once when a watch stream ends: without an error when the server closed it, with one when it
 * failed (an HTTP status other than 200 carries a numeric `code` or `statusCode`, see `httpStatusOf`).
 */
export type WatchDoneCallback = (err: unknown) => void;

/** How the clients reach the API server. */
export interface KubeTransport {
  /** The server's URL, for logs. */
  readonly server: string;
  /** Sends one request; resolves with any HTTP status, rejects only when no answer came. */
  request(request: KubeRequest): Promise<KubeResponse>;
  /**
   * Opens a watch (`GET path?watch=true&...`) and delivers its JSON lines. The same contract as
   * client-node's `Watch.watch`: the returned controller aborts the stream; `done` is called once.
   */
  watch(
    path: string,
    query: Query,
    onEvent: WatchEventCallback,
    done: WatchDoneCallback,
  ): Promise<AbortController>;
  /** Releases idle keep-alive connections (a stopped process then exits on its own). */
  close?(): void;
}

/** `path?query` with the `undefined` values of `query` left out. */
export function requestTarget(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) params.set(name, String(value));
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}
