/**
 * The three PATCH formats of kube-apiserver, as pure functions over plain JSON values:
 * JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch (the directives and list
 * strategies of `k8s.io/apimachinery/pkg/util/strategicpatch`, driven by a small patch-meta schema).
 */
import { ApiError, badRequest } from './status.js';

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** Whether a value is a JSON object (not an array, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** Applies an RFC 7386 JSON merge patch. */
export function applyMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key] ?? null, value);
  }
  return result;
}

/** One RFC 6902 operation. */
export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: Json;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/'))
    throw badRequest(
      `the server rejected our request due to an error in our request: invalid JSON pointer "${pointer}"`,
    );
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function patchFailure(message: string): ApiError {
  return new ApiError(
    422,
    'Invalid',
    `the server rejected our request due to an error in our request: ${message}`,
  );
}

function resolveParent(doc: Json, tokens: string[], pointer: string): { parent: Json; last: string } {
  let node: Json = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isObject(node)) node = node[token];
    else node = undefined as unknown as Json;
    if (node === undefined) throw patchFailure(`doc is missing path: "${pointer}": missing value`);
  }
  return { parent: node, last: tokens[tokens.length - 1] };
}

function getAt(doc: Json, pointer: string): Json {
  let node: Json = doc;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isObject(node)) node = node[token];
    else node = undefined as unknown as Json;
    if (node === undefined) throw patchFailure(`doc is missing path: "${pointer}": missing value`);
  }
  return node;
}

function removeAt(doc: Json, pointer: string): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw patchFailure('cannot remove the whole document');
  const { parent, last } = resolveParent(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const index = Number(last);
    if (!Number.isInteger(index) || index < 0 || index >= parent.length) {
      throw patchFailure(`unable to remove nonexistent key: ${last}: missing value`);
    }
    return parent.splice(index, 1)[0];
  }
  if (!isObject(parent) || !(last in parent)) {
    throw patchFailure(`unable to remove nonexistent key: ${last}: missing value`);
  }
  const removed = parent[last];
  delete parent[last];
  return removed;
}

function addAt(doc: Json, pointer: string, value: Json, replace: boolean): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, last } = resolveParent(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (
      !Number.isInteger(index) ||
      index < 0 ||
      index > parent.length ||
      (replace && index >= parent.length)
    ) {
      throw patchFailure(`unable to access invalid index: ${last}: invalid index referenced`);
    }
    if (replace) parent[index] = value;
    else parent.splice(index, 0, value);
  } else if (isObject(parent)) {
    if (replace && !(last in parent))
      throw patchFailure(`replace operation does not apply: doc is missing key: ${pointer}: missing value`);
    parent[last] = value;
  } else {
    throw patchFailure(`doc is missing path: "${pointer}": missing value`);
  }
  return doc;
}

/** Applies an RFC 6902 JSON patch; a failed `test` or a missing path is a 422. */
export function applyJsonPatch(target: Json, operations: unknown): Json {
  if (!Array.isArray(operations))
    throw badRequest(
      'the server rejected our request due to an error in our request: json patch must be an array of operations',
    );
  let doc = clone(target);
  for (const raw of operations as JsonPatchOperation[]) {
    if (!isObject(raw as unknown) || typeof raw.path !== 'string')
      throw badRequest(`invalid JSON patch operation: ${JSON.stringify(raw)}`);
    switch (raw.op) {
      case 'add':
        doc = addAt(doc, raw.path, clone(raw.value ?? null), false);
        break;
      case 'replace':
        doc = addAt(doc, raw.path, clone(raw.value ?? null), true);
        break;
      case 'remove':
        removeAt(doc, raw.path);
        break;
      case 'move': {
        const value = removeAt(doc, raw.from ?? '');
        doc = addAt(doc, raw.path, value, false);
        break;
      }
      case 'copy':
        doc = addAt(doc, raw.path, clone(getAt(doc, raw.from ?? '')), false);
        break;
      case 'test':
        if (!jsonEqual(getAt(doc, raw.path), raw.value)) {
          throw patchFailure(`testing value ${raw.path} failed: test failed`);
        }
        break;
      default:
        throw badRequest(`Unexpected kind: ${String((raw as { op: unknown }).op)}`);
    }
  }
  return doc;
}

/** Patch metadata of one field for strategic merge: how its list merges, and the shape below it. */
export interface PatchMetaField {
  /** `merge` lists merge (by `mergeKey` for lists of objects, as sets for primitives); else they replace. */
  strategy?: 'merge' | 'retainKeys' | 'merge,retainKeys';
  mergeKey?: string;
  /** Fields of the object (or of each list item). */
  fields?: PatchMeta;
}

/** Patch metadata of an object's fields. Unknown fields: maps merge, lists replace (as for any SMP). */
export type PatchMeta = { [field: string]: PatchMetaField };

const SET_ELEMENT_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';

function orderBy(list: Json[], order: Json[], mergeKey: string | undefined): Json[] {
  const keyOf = (v: Json): Json => (mergeKey && isObject(v) ? v[mergeKey] : v);
  const ordered: Json[] = [];
  const rest = [...list];
  for (const wanted of order) {
    const wantedKey = keyOf(wanted);
    const index = rest.findIndex((v) => jsonEqual(keyOf(v), wantedKey));
    if (index >= 0) ordered.push(rest.splice(index, 1)[0]);
  }
  return [...ordered, ...rest];
}

function mergeList(original: Json[], patch: Json[], meta: PatchMetaField): Json[] {
  if (patch.some((v) => isObject(v) && v['$patch'] === 'replace')) {
    return patch.filter((v) => !(isObject(v) && v['$patch'] === 'replace'));
  }
  if (!meta.strategy?.includes('merge')) return clone(patch);
  const { mergeKey } = meta;
  if (!mergeKey) {
    const result = [...original];
    for (const v of patch) if (!result.some((o) => jsonEqual(o, v))) result.push(clone(v));
    return result;
  }
  const result = [...original];
  for (const item of patch) {
    if (!isObject(item)) throw badRequest(`strategic merge patch: list item without merge key "${mergeKey}"`);
    const key = item[mergeKey];
    const index = result.findIndex((o) => isObject(o) && jsonEqual(o[mergeKey], key));
    if (item['$patch'] === 'delete') {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = strategicMerge(result[index], item, meta.fields ?? {});
    } else {
      result.push(strategicMerge({}, item, meta.fields ?? {}));
    }
  }
  return result;
}

/**
 * Applies a strategic merge patch: maps merge, `null` deletes, lists with a `merge` strategy merge by
 * their key, other lists replace; honours `$patch: replace|delete`, `$retainKeys`,
 * `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`.
 */
export function strategicMerge(original: Json, patch: Json, meta: PatchMeta): Json {
  if (!isObject(patch)) return clone(patch);
  if (patch['$patch'] === 'replace') {
    const replaced = { ...patch };
    delete replaced['$patch'];
    return clone(replaced);
  }
  const result: JsonObject = isObject(original) ? { ...original } : {};
  const orders: [string, Json[]][] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys') continue;
    if (key.startsWith(SET_ELEMENT_ORDER)) {
      if (Array.isArray(value)) orders.push([key.slice(SET_ELEMENT_ORDER.length), value]);
      continue;
    }
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE_LIST.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value)) {
        result[field] = current.filter((v) => !value.some((d) => jsonEqual(d, v)));
      }
      continue;
    }
    const fieldMeta = meta[key] ?? {};
    if (value === null) {
      delete result[key];
    } else if (isObject(value) && value['$patch'] === 'delete') {
      delete result[key];
    } else if (Array.isArray(value)) {
      const current = result[key];
      result[key] = mergeList(Array.isArray(current) ? current : [], value, fieldMeta);
    } else if (isObject(value)) {
      result[key] = strategicMerge(result[key] ?? null, value, fieldMeta.fields ?? {});
    } else {
      result[key] = value;
    }
  }
  for (const [field, order] of orders) {
    const current = result[field];
    if (Array.isArray(current)) result[field] = orderBy(current, order, meta[field]?.mergeKey);
  }
  const retain = patch['$retainKeys'];
  if (Array.isArray(retain)) {
    for (const key of Object.keys(result)) if (!retain.includes(key)) delete result[key];
  }
  return result;
}
