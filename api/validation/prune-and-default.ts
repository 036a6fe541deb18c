/**
 * Pruning and defaulting with the semantics of kube-apiserver's structural schema algorithms
 * (apiextensions-apiserver `pkg/apiserver/schema/{pruning,defaulting}`). Both work in place on a copy
 * the caller owns.
 */
import { pathToString, type FieldPath } from './field-error.js';
import { additionalPropertiesSchema, type JSONSchemaProps } from './schema-props.js';

/** Fields kept on an embedded resource (and the resource root) whatever the schema says. */
const META_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

/** A JSON object (not an array, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep copy of a JSON value; properties whose value is `undefined` are dropped, as JSON would. */
export function cloneJson<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item) => cloneJson(item)) as T;
  if (isPlainObject(value) && Object.getPrototypeOf(value) === Object.prototype) {
    const copy: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) if (inner !== undefined) copy[key] = cloneJson(inner);
    return copy as T;
  }
  return value;
}

/** Schema of property `key` of an object node: declared property, else additionalProperties, else none. */
export function propertySchema(
  schema: JSONSchemaProps | undefined,
  key: string,
): JSONSchemaProps | undefined {
  if (!schema) return undefined;
  return schema.properties?.[key] ?? additionalPropertiesSchema(schema);
}

/**
 * Removes fields the schema does not declare, unless a node has `x-kubernetes-preserve-unknown-fields`.
 * The resource root keeps apiVersion, kind and metadata. Returns the paths of removed fields.
 */
export function prune(value: unknown, schema: JSONSchemaProps, isResourceRoot = true): string[] {
  const pruned: string[] = [];
  pruneNode(value, schema, isResourceRoot, [], pruned);
  return pruned;
}

function pruneNode(
  value: unknown,
  schema: JSONSchemaProps | undefined,
  embedded: boolean,
  path: FieldPath,
  pruned: string[],
  preserveInherited = false,
): void {
  const preserve =
    preserveInherited ||
    schema?.['x-kubernetes-preserve-unknown-fields'] === true ||
    schema?.additionalProperties === true;
  if (Array.isArray(value)) {
    // Like kube's skipPrune, a preserving array keeps unknown fields in its items too.
    value.forEach((item, index) =>
      pruneNode(item, schema?.items, false, [...path, { index }], pruned, preserve),
    );
    return;
  }
  if (!isPlainObject(value)) return;
  const isEmbedded = embedded || schema?.['x-kubernetes-embedded-resource'] === true;
  for (const key of Object.keys(value)) {
    if (isEmbedded && META_FIELDS.has(key)) continue;
    const childSchema = propertySchema(schema, key);
    const childPath = [...path, schema?.properties?.[key] ? { field: key } : { key }];
    if (childSchema) pruneNode(value[key], childSchema, false, childPath, pruned);
    else if (!preserve) {
      pruned.push(pathToString([...path, { field: key }]));
      delete value[key];
    }
  }
}

/**
 * Removes `null` values of non-nullable fields that have no default, like kube-apiserver does before
 * defaulting; nulls of fields with a default are replaced by the default in {@link applyDefaults}.
 */
export function pruneNonNullableNulls(value: unknown, schema: JSONSchemaProps | undefined): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    for (const item of value) pruneNonNullableNulls(item, schema.items);
    return;
  }
  if (!isPlainObject(value)) return;
  for (const key of Object.keys(value)) {
    const childSchema = propertySchema(schema, key);
    if (!childSchema) continue;
    if (value[key] === null && childSchema.default === undefined && childSchema.nullable !== true)
      delete value[key];
    else pruneNonNullableNulls(value[key], childSchema);
  }
}

function isNonNullableNull(value: unknown, schema: JSONSchemaProps | undefined): boolean {
  return value === null && schema !== undefined && schema.nullable !== true;
}

/**
 * Applies `default`s: a missing (or non-nullable null) property with a default gets a copy of it, then
 * defaulting descends into every property, including the ones just defaulted, so `default: {}` on an
 * object fills in its children's defaults. Objects that stay absent get no defaults inside.
 */
export function applyDefaults(value: unknown, schema: JSONSchemaProps | undefined): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      if (isNonNullableNull(item, schema.items) && schema.items?.default !== undefined) {
        value[index] = cloneJson(schema.items.default);
      }
      applyDefaults(value[index], schema.items);
    });
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    if (property.default === undefined) continue;
    if (!(key in value) || isNonNullableNull(value[key], property)) value[key] = cloneJson(property.default);
  }
  const additional = additionalPropertiesSchema(schema);
  for (const key of Object.keys(value)) {
    const property = schema.properties?.[key];
    if (property) applyDefaults(value[key], property);
    else if (additional) {
      if (isNonNullableNull(value[key], additional) && additional.default !== undefined) {
        value[key] = cloneJson(additional.default);
      }
      applyDefaults(value[key], additional);
    }
  }
}
