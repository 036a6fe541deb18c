/**
 * `x-kubernetes-validations` evaluation with kube-apiserver semantics: rules run on every present value
 * of their schema node with `self` bound to it; transition rules (those that reference `oldSelf`) run
 * only on update, where the old value exists and correlates (same property, same map key, same
 * list-map key); failures become field errors at the node (plus `fieldPath`) typed by `reason`.
 */
import { celEnv, isCelError, parse, plan, type CelResult } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { quantityLibrary } from './cel-quantity-library.js';
import {
  fieldError,
  invalid,
  type FieldError,
  type FieldErrorType,
  type FieldPath,
  type PathSegment,
} from './field-error.js';
import { isPlainObject } from './prune-and-default.js';
import { additionalPropertiesSchema, type JSONSchemaProps, type ValidationRule } from './schema-props.js';
import { jsonEqual } from './value-validation.js';

/** The CEL environment of CRD rules: standard CEL plus the Kubernetes strings and quantity libraries. */
const environment = celEnv({ funcs: [...strings, ...quantityLibrary] });

/** A parsed and planned CEL expression. */
export interface CompiledExpression {
  evaluate(bindings: Record<string, unknown>): CelResult;
  /** True when the expression reads `oldSelf`, which makes a rule a transition rule. */
  referencesOldSelf: boolean;
}

/** Thrown for a CEL expression that does not parse. */
export class CelCompileError extends Error {
  override readonly name = 'CelCompileError';
}

const CEL_RESERVED = new Set([
  'true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if', 'import',
  'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while',
]); // prettier-ignore

const compiledCache = new Map<string, CompiledExpression | CelCompileError>();

/** Identifier names and selected field names in a parsed expression. */
function collectNames(node: unknown, names: { identifiers: Set<string>; fields: Set<string> }): void {
  if (Array.isArray(node)) {
    for (const child of node) collectNames(child, names);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  const value = record.value as { name?: unknown; field?: unknown } | undefined;
  if (record.case === 'identExpr' && typeof value?.name === 'string') names.identifiers.add(value.name);
  if (record.case === 'selectExpr' && typeof value?.field === 'string') names.fields.add(value.field);
  for (const [key, child] of Object.entries(record)) if (key !== '$typeName') collectNames(child, names);
}

/** Parses and plans a CEL expression once (cached); throws {@link CelCompileError} when it does not parse. */
export function compileExpression(expression: string): CompiledExpression {
  let compiled = compiledCache.get(expression);
  if (!compiled) {
    try {
      const parsed = parse(expression);
      const names = { identifiers: new Set<string>(), fields: new Set<string>() };
      collectNames(parsed.expr, names);
      // cel-go, which kube-apiserver uses, rejects reserved words as identifiers and field names.
      const reserved = [...names.identifiers, ...names.fields].find((name) => CEL_RESERVED.has(name));
      if (reserved) throw new Error(`reserved identifier: ${reserved} (write __${reserved}__)`);
      const program = plan(environment, parsed) as (bindings: Record<string, unknown>) => CelResult;
      compiled = {
        evaluate: (bindings) => program(bindings),
        referencesOldSelf: names.identifiers.has('oldSelf'),
      };
    } catch (error) {
      compiled = new CelCompileError(`${(error as Error).message} (in rule: ${expression})`);
    }
    compiledCache.set(expression, compiled);
  }
  if (compiled instanceof CelCompileError) throw compiled;
  return compiled;
}

/**
 * The CEL name of an object property (apiserver `cel.Escape`): reserved words become `__word__`, and
 * `__`, `.`, `-`, `/` become `__underscores__`, `__dot__`, `__dash__`, `__slash__`. Undefined when the
 * property cannot be accessed from CEL.
 */
export function escapePropertyName(name: string): string | undefined {
  if (name === '' || /^[0-9]/.test(name)) return undefined;
  if (CEL_RESERVED.has(name)) return `__${name}__`;
  if (/[^A-Za-z0-9_./-]/.test(name)) return undefined;
  const escapes: Record<string, string> = {
    __: '__underscores__',
    '.': '__dot__',
    '-': '__dash__',
    '/': '__slash__',
  };
  return name.replace(/__|[./-]/g, (match) => escapes[match]);
}

/**
 * Converts a JSON value to a CEL input by its schema: `integer` to CEL int (bigint), `number` to double,
 * object properties escaped; unknown (preserved) numbers are int when whole. At a resource root, only
 * `metadata.name` and `metadata.generateName` are visible, as in kube-apiserver.
 */
export function toCelInput(
  value: unknown,
  schema: JSONSchemaProps | undefined,
  isResourceRoot = false,
): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') {
    if (schema?.type === 'number') return value;
    return Number.isInteger(value) ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map((item) => toCelInput(item, schema?.items));
  if (!isPlainObject(value)) return value;
  const converted: Record<string, unknown> = {};
  const additional = schema && additionalPropertiesSchema(schema);
  for (const [key, child] of Object.entries(value)) {
    if (isResourceRoot && key === 'metadata' && isPlainObject(child)) {
      const visible: Record<string, unknown> = {};
      if (typeof child.name === 'string') visible.name = child.name;
      if (typeof child.generateName === 'string') visible.generateName = child.generateName;
      converted.metadata = visible;
      continue;
    }
    const property = schema?.properties?.[key];
    if (property) {
      const celName = escapePropertyName(key);
      if (celName !== undefined) converted[celName] = toCelInput(child, property);
    } else converted[key] = toCelInput(child, additional);
  }
  return converted;
}

/**
 * Parses a rule's `fieldPath` (".spec.a", ".a['b.c']", ".list[0]") into path segments; undefined when it
 * is not a valid relative path.
 */
export function parseFieldPath(fieldPath: string): PathSegment[] | undefined {
  const segments: PathSegment[] = [];
  const token =
    /\.([A-Za-z_][A-Za-z0-9_-]*)|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\]|\[(\d+)\]/y;
  let offset = 0;
  while (offset < fieldPath.length) {
    token.lastIndex = offset;
    const match = token.exec(fieldPath);
    if (!match) return undefined;
    if (match[1] !== undefined) segments.push({ field: match[1] });
    else if (match[2] !== undefined || match[3] !== undefined) segments.push({ field: match[2] ?? match[3] });
    else segments.push({ index: Number(match[4]) });
    offset = token.lastIndex;
  }
  return segments.length ? segments : undefined;
}

const REASON_TYPES: Record<string, FieldErrorType> = {
  FieldValueForbidden: 'FieldValueForbidden',
  FieldValueRequired: 'FieldValueRequired',
  FieldValueDuplicate: 'FieldValueDuplicate',
};

function ruleMessage(rule: ValidationRule, bindings: Record<string, unknown>): string {
  if (rule.messageExpression) {
    try {
      const result = compileExpression(rule.messageExpression).evaluate(bindings);
      if (typeof result === 'string' && result.trim() !== '' && !result.includes('\n')) return result;
    } catch {
      // A broken messageExpression falls back to the static message, as in kube-apiserver.
    }
  }
  return rule.message ?? `failed rule: ${rule.rule.trim()}`;
}

function ruleFailure(rule: ValidationRule, path: FieldPath, schemaType: string, message: string): FieldError {
  const fieldPath = rule.fieldPath ? parseFieldPath(rule.fieldPath) : undefined;
  const errorPath = fieldPath ? [...path, ...fieldPath] : path;
  const type = (rule.reason && REASON_TYPES[rule.reason]) || 'FieldValueInvalid';
  if (type === 'FieldValueDuplicate') return fieldError(type, errorPath, schemaType, '');
  return fieldError(type, errorPath, schemaType, message);
}

function evaluateRules(
  value: unknown,
  oldValue: unknown,
  schema: JSONSchemaProps,
  path: FieldPath,
  errors: FieldError[],
  isResourceRoot: boolean,
): void {
  const rules = schema['x-kubernetes-validations'];
  if (!rules?.length) return;
  const schemaType = schema.type ?? '';
  const self = toCelInput(value, schema, isResourceRoot);
  const hasOld = oldValue !== undefined && oldValue !== null;
  const bindings: Record<string, unknown> = hasOld
    ? { self, oldSelf: toCelInput(oldValue, schema, isResourceRoot) }
    : { self };
  for (const rule of rules) {
    let compiled: CompiledExpression;
    try {
      compiled = compileExpression(rule.rule);
    } catch (error) {
      errors.push(invalid(path, schemaType, `compilation failed: ${(error as Error).message}`));
      continue;
    }
    if (compiled.referencesOldSelf && !hasOld) continue;
    const result = compiled.evaluate(bindings);
    if (isCelError(result)) {
      errors.push(invalid(path, schemaType, `${result.message} evaluating rule: ${rule.rule.trim()}`));
    } else if (typeof result !== 'boolean') {
      errors.push(invalid(path, schemaType, `rule did not evaluate to a boolean: ${rule.rule.trim()}`));
    } else if (!result) {
      errors.push(ruleFailure(rule, path, schemaType, ruleMessage(rule, bindings)));
    }
  }
}

/** The old list item that correlates with `item`: same map keys in a `list-type: map`, else none. */
function correlatedItem(item: unknown, oldList: unknown, schema: JSONSchemaProps): unknown {
  if (schema['x-kubernetes-list-type'] !== 'map' || !Array.isArray(oldList) || !isPlainObject(item))
    return undefined;
  const keys = schema['x-kubernetes-list-map-keys'] ?? [];
  return oldList.find((old) => isPlainObject(old) && keys.every((key) => jsonEqual(old[key], item[key])));
}

/**
 * Runs every `x-kubernetes-validations` rule of `schema` and its descendants over `value`, with the
 * correlated parts of `oldValue` as `oldSelf`, appending failures to `errors`.
 */
export function validateCelRules(
  value: unknown,
  oldValue: unknown,
  schema: JSONSchemaProps,
  path: FieldPath,
  errors: FieldError[],
  isResourceRoot = false,
): void {
  if (value === undefined || value === null) return;
  evaluateRules(value, oldValue, schema, path, errors, isResourceRoot);
  if (Array.isArray(value)) {
    const items = schema.items;
    if (!items) return;
    value.forEach((item, index) =>
      validateCelRules(item, correlatedItem(item, oldValue, schema), items, [...path, { index }], errors),
    );
    return;
  }
  if (!isPlainObject(value)) return;
  const additional = additionalPropertiesSchema(schema);
  const oldObject = isPlainObject(oldValue) ? oldValue : undefined;
  for (const [key, child] of Object.entries(value)) {
    const property = schema.properties?.[key];
    if (property) validateCelRules(child, oldObject?.[key], property, [...path, { field: key }], errors);
    else if (additional) validateCelRules(child, oldObject?.[key], additional, [...path, { key }], errors);
  }
}
