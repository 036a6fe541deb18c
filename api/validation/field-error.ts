/**
 * Kubernetes field errors (apimachinery `util/validation/field`), printed exactly as kube-apiserver prints
 * them: `spec.dataPercent: Invalid value: 120: spec.dataPercent in body should be less than or equal to 100`.
 */

/** The field error types of apimachinery, named as in `metav1.StatusCause.reason`. */
export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueForbidden'
  | 'FieldValueDuplicate'
  | 'FieldValueTypeInvalid';

/** One validation failure of one field. */
export interface FieldError {
  type: FieldErrorType;
  /** Dotted path with indexes and keys in brackets: "spec.devices[0].path", "spec.nodeSelector[zone]". */
  field: string;
  badValue?: unknown;
  detail: string;
  /** The whole line as kube-apiserver prints it: "<field>: <type text>[: <bad value>][: <detail>]". */
  message: string;
}

/** One step of a field path. */
export type PathSegment = { field: string } | { index: number } | { key: string };

/** A field path, root first. */
export type FieldPath = readonly PathSegment[];

/** Renders a path like apimachinery `field.Path.String()`; the empty path is "<nil>". */
export function pathToString(path: FieldPath): string {
  if (path.length === 0) return '<nil>';
  let text = '';
  for (const segment of path) {
    if ('field' in segment) text += text === '' ? segment.field : `.${segment.field}`;
    else if ('index' in segment) text += `[${segment.index}]`;
    else text += `[${segment.key}]`;
  }
  return text;
}

const TYPE_TEXT: Record<FieldErrorType, string> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueForbidden: 'Forbidden',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueTypeInvalid: 'Invalid value',
};

/** Types whose text omits the bad value (apimachinery `ErrorBody`). */
const VALUE_OMITTED = new Set<FieldErrorType>([
  'FieldValueRequired',
  'FieldValueForbidden',
  'FieldValueTooLong',
]);

/**
 * Prints a bad value the way Go's `ErrorBody` does: numbers and booleans bare, strings quoted, the rest
 * JSON, and a nil value as the quoted string "null".
 */
export function formatBadValue(value: unknown): string {
  if (value === null || value === undefined) return '"null"';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return JSON.stringify(value, (_key, inner: unknown) => (typeof inner === 'bigint' ? Number(inner) : inner));
}

/** The text after "<field>: ", as in `metav1.StatusCause.message`. */
export function errorBody(error: Pick<FieldError, 'type' | 'badValue' | 'detail'>): string {
  let body = TYPE_TEXT[error.type];
  if (!VALUE_OMITTED.has(error.type)) body += `: ${formatBadValue(error.badValue)}`;
  if (error.detail !== '') body += `: ${error.detail}`;
  return body;
}

/** Builds a {@link FieldError} with its printed message. */
export function fieldError(
  type: FieldErrorType,
  path: FieldPath | string,
  badValue: unknown,
  detail: string,
): FieldError {
  const field = typeof path === 'string' ? path : pathToString(path);
  const error: FieldError = { type, field, detail, message: '' };
  if (!VALUE_OMITTED.has(type)) error.badValue = badValue;
  error.message = `${field}: ${errorBody(error)}`;
  return error;
}

/** `field.Required`. */
export const required = (path: FieldPath, detail = ''): FieldError =>
  fieldError('FieldValueRequired', path, undefined, detail);
/** `field.Invalid`. */
export const invalid = (path: FieldPath, value: unknown, detail: string): FieldError =>
  fieldError('FieldValueInvalid', path, value, detail);
/** `field.TypeInvalid`. */
export const typeInvalid = (path: FieldPath, value: unknown, detail: string): FieldError =>
  fieldError('FieldValueTypeInvalid', path, value, detail);
/** `field.Forbidden`. */
export const forbidden = (path: FieldPath, detail: string): FieldError =>
  fieldError('FieldValueForbidden', path, undefined, detail);
/** `field.Duplicate`. */
export const duplicate = (path: FieldPath, value: unknown): FieldError =>
  fieldError('FieldValueDuplicate', path, value, '');
/** `field.NotSupported`, listing the supported values like apimachinery. */
export const notSupported = (path: FieldPath, value: unknown, supported: readonly unknown[]): FieldError =>
  fieldError(
    'FieldValueNotSupported',
    path,
    value,
    supported.length ? `supported values: ${supported.map(formatBadValue).join(', ')}` : '',
  );
/** `field.TooLong` (kube-apiserver 1.32+ wording). */
export const tooLong = (path: FieldPath, maxLength: number): FieldError =>
  fieldError(
    'FieldValueTooLong',
    path,
    undefined,
    `may not be more than ${maxLength} ${maxLength === 1 ? 'byte' : 'bytes'}`,
  );
/** `field.TooMany`. */
export const tooMany = (path: FieldPath, actual: number, max: number): FieldError =>
  fieldError('FieldValueTooMany', path, actual, `must have at most ${max} ${max === 1 ? 'item' : 'items'}`);

/** `metav1.Status` of a rejected request (HTTP 422), as kube-apiserver returns for invalid objects. */
export interface InvalidStatus {
  apiVersion: 'v1';
  kind: 'Status';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: 'Invalid';
  details: {
    name: string;
    group: string;
    kind: string;
    causes: { reason: FieldErrorType; message: string; field: string }[];
  };
  code: 422;
}

/**
 * The 422 `Status` kube-apiserver answers for an invalid object, message included:
 * `ThinPool.thinpool.dev "pool" is invalid: [spec.a: ..., spec.b: ...]` (no brackets for one error).
 */
export function invalidStatus(
  group: string,
  kind: string,
  name: string,
  errors: readonly FieldError[],
): InvalidStatus {
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  const list = errors.map((e) => e.message);
  const joined = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return {
    apiVersion: 'v1',
    kind: 'Status',
    metadata: {},
    status: 'Failure',
    message: `${qualifiedKind} "${name}" is invalid: ${joined}`,
    reason: 'Invalid',
    details: {
      name,
      group,
      kind,
      causes: errors.map((e) => ({ reason: e.type, message: errorBody(e), field: e.field })),
    },
    code: 422,
  };
}
