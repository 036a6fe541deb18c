/**
 * `metav1.Status` errors as kube-apiserver writes them: the HTTP code, the machine-readable `reason`, the
 * message text clients match on, and `details` naming the object.
 */

/** One `details.causes[]` entry of a Status. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** `metav1.StatusDetails`. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** A `metav1.Status` object (success or failure). */
export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An API error that the server answers with a `Status` body and its HTTP code. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The Status body sent to the client. */
  toStatus(): StatusBody {
    return failureStatus(this.code, this.reason, this.message, this.details);
  }
}

/** Builds a failure `Status`. */
export function failureStatus(
  code: number,
  reason: string,
  message: string,
  details?: StatusDetails,
): StatusBody {
  const body: StatusBody = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  };
  if (details) body.details = details;
  return body;
}

/** Builds a success `Status` (deletecollection, eviction). */
export function successStatus(code: number, details?: StatusDetails): StatusBody {
  const body: StatusBody = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code };
  if (details) body.details = details;
  return body;
}

/** `pods` or `thinpools.thinpool.dev`: how kube-apiserver names a resource in messages. */
export function qualifiedResource(group: string, resource: string): string {
  return group ? `${resource}.${group}` : resource;
}

/** 404 NotFound for one object. */
export function notFound(group: string, resource: string, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(group, resource)} "${name}" not found`, {
    name,
    group: group || undefined,
    kind: resource,
  });
}

/** 409 AlreadyExists on create. */
export function alreadyExists(group: string, resource: string, name: string): ApiError {
  return new ApiError(
    409,
    'AlreadyExists',
    `${qualifiedResource(group, resource)} "${name}" already exists`,
    {
      name,
      group: group || undefined,
      kind: resource,
    },
  );
}

/** 409 Conflict on a stale resourceVersion (optimistic concurrency). */
export function conflict(group: string, resource: string, name: string, why?: string): ApiError {
  const reasonText =
    why ?? 'the object has been modified; please apply your changes to the latest version and try again';
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(group, resource)} "${name}": ${reasonText}`,
    { name, group: group || undefined, kind: resource },
  );
}

/** 400 BadRequest. */
export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(
  message = 'the server does not allow this method on the requested resource',
): ApiError {
  return new ApiError(405, 'MethodNotAllowed', message);
}

/** 415 UnsupportedMediaType. */
export function unsupportedMediaType(contentType: string, accepted: string[]): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    { causes: [{ reason: 'UnexpectedServerResponse', message: contentType }] },
  );
}

/** 410 Gone with reason Expired: a resourceVersion or continue token older than the retained window. */
export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

/** 403 Forbidden. */
export function forbidden(group: string, resource: string, name: string, message: string): ApiError {
  return new ApiError(
    403,
    'Forbidden',
    `${qualifiedResource(group, resource)} "${name}" is forbidden: ${message}`,
    { name, group: group || undefined, kind: resource },
  );
}

/** One invalid field, in the `FieldError` shape of `api/validation`. */
export interface InvalidField {
  /** `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, ... */
  type: string;
  /** `spec.thinPoolName` */
  field: string;
  /** The field error rendered as kube-apiserver does: `spec.x: Invalid value: 5: must be ...`. */
  message: string;
}

/**
 * 422 Invalid: `Kind.group "name" is invalid: [field: ..., ...]` with one cause per field, as
 * kube-apiserver's `errors.NewInvalid` renders it (no brackets for a single error).
 */
export function invalid(kind: string, group: string, name: string, fields: InvalidField[]): ApiError {
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  const list = fields.map((f) => f.message);
  const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${summary}`, {
    name,
    group: group || undefined,
    kind,
    // Like field.Error.ErrorBody(): the cause message omits the "<field>: " prefix.
    causes: fields.map((f) => ({
      reason: f.type,
      message: f.message.startsWith(`${f.field}: `) ? f.message.slice(f.field.length + 2) : f.message,
      field: f.field,
    })),
  });
}

/** 429 TooManyRequests (eviction blocked by a PodDisruptionBudget, or an injected fault). */
export function tooManyRequests(message: string, causes?: StatusCause[]): ApiError {
  return new ApiError(429, 'TooManyRequests', message, causes ? { causes } : undefined);
}

/** 500 InternalError. */
export function internalError(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ message }],
  });
}

/** The reason kube-apiserver pairs with an HTTP code, for injected faults. */
export function reasonForCode(code: number): string {
  const reasons: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    405: 'MethodNotAllowed',
    409: 'Conflict',
    410: 'Expired',
    415: 'UnsupportedMediaType',
    422: 'Invalid',
    429: 'TooManyRequests',
    500: 'InternalError',
    503: 'ServiceUnavailable',
    504: 'Timeout',
  };
  return reasons[code] ?? 'Unknown';
}
