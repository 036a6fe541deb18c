/**
 * OpenAPI v3 value validation (types, enum, formats, bounds, patterns, required, junctors) plus the
 * `x-kubernetes-list-type` set/map invariants, with the error types and wording kube-apiserver produces
 * through kube-openapi and `structurallisttype`.
 */
import {
  duplicate,
  invalid,
  notSupported,
  pathToString,
  required,
  tooLong,
  tooMany,
  typeInvalid,
  type FieldError,
  type FieldPath,
} from './field-error.js';
import { isPlainObject } from './prune-and-default.js';
import { additionalPropertiesSchema, type JSONSchemaProps } from './schema-props.js';

const regexCache = new Map<string, RegExp>();

/** Compiles a schema `pattern` once; patterns are unanchored like Go's `regexp.MatchString`. */
export function compilePattern(pattern: string): RegExp {
  let regex = regexCache.get(pattern);
  if (!regex) {
    regex = new RegExp(pattern, 'u');
    regexCache.set(pattern, regex);
  }
  return regex;
}

/** The JSON type name kube-openapi reports for a value: "string", "integer", "number", "object", ... */
export function jsonTypeOf(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'bigint') return 'integer';
  if (isPlainObject(value)) return 'object';
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return isPlainObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return (typeof value === 'number' && Number.isInteger(value)) || typeof value === 'bigint';
    case 'number':
      return (typeof value === 'number' && Number.isFinite(value)) || typeof value === 'bigint';
    default:
      return true;
  }
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const UUID = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;
const IPV4 = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** String formats checked like kube-openapi's strfmt registry; other formats (int64, ...) are annotations. */
const FORMAT_CHECKS: Record<string, (text: string) => boolean> = {
  'date-time': (text) => DATE_TIME.test(text) && !Number.isNaN(Date.parse(text.replace(' ', 'T'))),
  date: (text) => DATE.test(text) && !Number.isNaN(Date.parse(text)),
  uuid: (text) => UUID.test(text),
  ipv4: (text) => IPV4.test(text),
  byte: (text) => BASE64.test(text),
};

/** Deep equality of JSON values (object key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'bigint' || typeof b === 'bigint') return Number(a) === Number(b);
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** Length in Unicode code points, like Go's `utf8.RuneCountInString`. */
function runeCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** Errors that keep kube-apiserver from running CEL rules (apiextensions `hasBlockingErr`). */
export function isBlockingError(error: FieldError): boolean {
  return (
    error.type === 'FieldValueNotSupported' ||
    error.type === 'FieldValueRequired' ||
    error.type === 'FieldValueTooLong' ||
    error.type === 'FieldValueTooMany' ||
    error.type === 'FieldValueTypeInvalid'
  );
}

/**
 * Validates `value` against `schema` and appends errors. `undefined` (absent) values are not validated;
 * `isResourceRoot` marks the object root, whose metadata is only checked against what the schema declares.
 */
export function validateValue(
  value: unknown,
  schema: JSONSchemaProps,
  path: FieldPath,
  errors: FieldError[],
  isResourceRoot = false,
): void {
  if (value === undefined) return;
  const at = pathToString(path);
  if (value === null) {
    if (schema.nullable === true || (!schema.type && !schema['x-kubernetes-int-or-string'])) return;
    errors.push(
      typeInvalid(path, 'null', `${at} in body must be of type ${schema.type ?? 'int-or-string'}: "null"`),
    );
    return;
  }
  if (schema['x-kubernetes-int-or-string'] === true) {
    if (!matchesType(value, 'integer') && typeof value !== 'string') {
      const actual = jsonTypeOf(value);
      errors.push(typeInvalid(path, actual, `${at} in body must be of type integer,string: "${actual}"`));
      return;
    }
  } else if (schema.type && !matchesType(value, schema.type)) {
    const actual = jsonTypeOf(value);
    errors.push(typeInvalid(path, actual, `${at} in body must be of type ${schema.type}: "${actual}"`));
    return;
  }

  if (schema.enum && !schema.enum.some((allowed) => jsonEqual(allowed, value))) {
    errors.push(notSupported(path, value, schema.enum));
  }
  if (typeof value === 'string') validateString(value, schema, path, at, errors);
  if (typeof value === 'number' || typeof value === 'bigint')
    validateNumber(Number(value), schema, path, at, errors);
  if (Array.isArray(value)) validateArray(value, schema, path, at, errors);
  if (isPlainObject(value)) validateObject(value, schema, path, at, errors, isResourceRoot);
  validateJunctors(value, schema, path, at, errors);
}

function validateString(
  value: string,
  schema: JSONSchemaProps,
  path: FieldPath,
  at: string,
  errors: FieldError[],
) {
  const length = runeCount(value);
  if (schema.maxLength !== undefined && length > schema.maxLength)
    errors.push(tooLong(path, schema.maxLength));
  if (schema.minLength !== undefined && length < schema.minLength) {
    errors.push(invalid(path, value, `${at} in body should be at least ${schema.minLength} chars long`));
  }
  if (schema.pattern !== undefined && !compilePattern(schema.pattern).test(value)) {
    errors.push(invalid(path, value, `${at} in body should match '${schema.pattern}'`));
  }
  const checkFormat = schema.format ? FORMAT_CHECKS[schema.format] : undefined;
  if (checkFormat && !checkFormat(value)) {
    errors.push(
      typeInvalid(path, value, `${at} in body must be of type ${schema.format}: ${JSON.stringify(value)}`),
    );
  }
}

function validateNumber(
  value: number,
  schema: JSONSchemaProps,
  path: FieldPath,
  at: string,
  errors: FieldError[],
) {
  if (schema.maximum !== undefined) {
    if (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum) {
      const relation = schema.exclusiveMaximum ? 'less than' : 'less than or equal to';
      errors.push(invalid(path, value, `${at} in body should be ${relation} ${schema.maximum}`));
    }
  }
  if (schema.minimum !== undefined) {
    if (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum) {
      const relation = schema.exclusiveMinimum ? 'greater than' : 'greater than or equal to';
      errors.push(invalid(path, value, `${at} in body should be ${relation} ${schema.minimum}`));
    }
  }
  if (schema.multipleOf !== undefined && schema.multipleOf > 0) {
    const quotient = value / schema.multipleOf;
    if (Math.abs(quotient - Math.round(quotient)) > 1e-9) {
      errors.push(invalid(path, value, `${at} in body should be a multiple of ${schema.multipleOf}`));
    }
  }
}

function validateArray(
  value: unknown[],
  schema: JSONSchemaProps,
  path: FieldPath,
  at: string,
  errors: FieldError[],
) {
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    errors.push(tooMany(path, value.length, schema.maxItems));
  }
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    errors.push(invalid(path, value, `${at} in body should have at least ${schema.minItems} items`));
  }
  if (schema.uniqueItems === true && value.some((x, i) => value.findIndex((y) => jsonEqual(x, y)) !== i)) {
    errors.push(invalid(path, value, `${at} in body shouldn't contain duplicates`));
  }
  if (schema.items) {
    const items = schema.items;
    value.forEach((item, index) => validateValue(item, items, [...path, { index }], errors));
  }
  validateListType(value, schema, path, errors);
}

/** `x-kubernetes-list-type: set` items are unique; `map` items are unique by their key fields. */
function validateListType(value: unknown[], schema: JSONSchemaProps, path: FieldPath, errors: FieldError[]) {
  const listType = schema['x-kubernetes-list-type'];
  if (listType === 'set') {
    value.forEach((item, index) => {
      if (value.findIndex((other) => jsonEqual(other, item)) < index)
        errors.push(duplicate([...path, { index }], item));
    });
  } else if (listType === 'map') {
    const keys = schema['x-kubernetes-list-map-keys'] ?? [];
    const seen: Record<string, unknown>[] = [];
    value.forEach((item, index) => {
      if (!isPlainObject(item)) return;
      const missing = keys.filter((key) => item[key] === undefined);
      for (const key of missing) errors.push(required([...path, { index }, { field: key }]));
      if (missing.length) return;
      const keyValues = Object.fromEntries(keys.map((key) => [key, item[key]]));
      if (seen.some((other) => jsonEqual(other, keyValues)))
        errors.push(duplicate([...path, { index }], keyValues));
      else seen.push(keyValues);
    });
  }
}

function validateObject(
  value: Record<string, unknown>,
  schema: JSONSchemaProps,
  path: FieldPath,
  at: string,
  errors: FieldError[],
  isResourceRoot: boolean,
) {
  for (const name of schema.required ?? []) {
    if (value[name] === undefined) errors.push(required([...path, { field: name }]));
  }
  const count = Object.keys(value).length;
  if (schema.maxProperties !== undefined && count > schema.maxProperties) {
    errors.push(tooMany(path, count, schema.maxProperties));
  }
  if (schema.minProperties !== undefined && count < schema.minProperties) {
    errors.push(
      invalid(path, value, `${at} in body should have at least ${schema.minProperties} properties`),
    );
  }
  if (schema['x-kubernetes-embedded-resource'] === true && !isResourceRoot) {
    for (const name of ['apiVersion', 'kind']) {
      if (typeof value[name] !== 'string' || value[name] === '') {
        errors.push(required([...path, { field: name }], 'must not be empty'));
      }
    }
  }
  const additional = additionalPropertiesSchema(schema);
  for (const [key, child] of Object.entries(value)) {
    const property = schema.properties?.[key];
    if (property) validateValue(child, property, [...path, { field: key }], errors);
    else if (additional) validateValue(child, additional, [...path, { key }], errors);
  }
}

function validateJunctors(
  value: unknown,
  schema: JSONSchemaProps,
  path: FieldPath,
  at: string,
  errors: FieldError[],
) {
  const errorsOf = (branch: JSONSchemaProps): FieldError[] => {
    const branchErrors: FieldError[] = [];
    validateValue(value, branch, path, branchErrors);
    return branchErrors;
  };
  for (const branch of schema.allOf ?? []) errors.push(...errorsOf(branch));
  if (schema.anyOf && !schema.anyOf.some((branch) => errorsOf(branch).length === 0)) {
    errors.push(invalid(path, value, `${at} in body must validate at least one schema (anyOf)`));
  }
  if (schema.oneOf && schema.oneOf.filter((branch) => errorsOf(branch).length === 0).length !== 1) {
    errors.push(invalid(path, value, `${at} in body must validate one and only one schema (oneOf)`));
  }
  if (schema.not && errorsOf(schema.not).length === 0) {
    errors.push(invalid(path, value, `${at} in body must not validate the schema (not)`));
  }
}
