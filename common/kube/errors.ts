/** Errors of Kubernetes API requests, the same whichever transport carried them. */

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

/**
 * A failed API request. The same shape as client-node's `ApiException` (`code`, `body` = the parsed
 * `metav1.Status`, `headers`), with a one-line message naming the request, the HTTP status and the
 * server's reason, fit for logs, Events and conditions.
 */
export class KubeApiError extends Error {
  /** The HTTP status. */
  readonly code: number;
  /** The parsed `metav1.Status` (empty when the server sent none). */
  readonly body: StatusBody;
  readonly headers: Record<string, string>;

  constructor(
    method: string,
    path: string,
    code: number,
    status: StatusBody,
    text: string,
    headers: Record<string, string>,
  ) {
    super(`${method} ${path} failed with HTTP ${code}: ${status.message ?? text.slice(0, 200)}`);
    this.name = 'KubeApiError';
    this.code = code;
    this.body = status;
    this.headers = headers;
  }
}

/** Parses a JSON body; `undefined` when it is empty or not JSON. */
export function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The HTTP status of an API error (ours, client-node's `ApiException`, or a failed watch's `statusCode`),
 * or undefined for anything else (network errors, whose `code` is a string like `ECONNREFUSED`, bugs).
 */
export function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof KubeApiError) return err.code;
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, statusCode } = err as { code?: unknown; statusCode?: unknown };
  if (typeof code === 'number') return code;
  return typeof statusCode === 'number' ? statusCode : undefined;
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
  return httpStatusOf(err) === 409 && (err as { body?: StatusBody }).body?.reason === 'AlreadyExists';
}

/** A short, log-friendly description of any error. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
