/**
 * Checks that a CRD version schema is *structural* the way `apiextensions.k8s.io/v1` demands (every node
 * typed, no `additionalProperties: false`, junctors without types or defaults, root metadata limited to
 * name/generateName, well-formed list types, defaults pruned and valid, CEL rules compiling and
 * transition rules only where old values correlate), plus a separate bound check used to keep the CEL
 * cost estimate finite.
 */
import { compileExpression, parseFieldPath, validateCelRules } from './cel-validation.js';
import type { FieldError, PathSegment } from './field-error.js';
import { applyDefaults, cloneJson, prune } from './prune-and-default.js';
import { additionalPropertiesSchema, type JSONSchemaProps } from './schema-props.js';
import { validateValue } from './value-validation.js';

const SCALAR_TYPES = new Set(['string', 'integer', 'number', 'boolean']);
const JUNCTORS = ['allOf', 'anyOf', 'oneOf'] as const;
/** Keys a junctor subschema may not set (apiextensions `validateStructuralInvariants`). */
const FORBIDDEN_IN_JUNCTORS = [
  'type',
  'default',
  'nullable',
  'additionalProperties',
  'description',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
] as const;

interface Walk {
  path: string;
  /** Inside items of an array that is not a list-type map: `oldSelf` has nothing to correlate with. */
  uncorrelatable: boolean;
  isRoot: boolean;
}

/**
 * Returns every structural-schema violation of a CRD version schema (empty when structural), each as
 * "<schema path>: <problem>", e.g. "spec.devices[*]: type must be set".
 */
export function checkStructuralSchema(schema: JSONSchemaProps): string[] {
  const problems: string[] = [];
  if (schema.type !== 'object') problems.push('<root>: type must be "object"');
  checkNode(schema, { path: '', uncorrelatable: false, isRoot: true }, problems);
  return problems;
}

function child(walk: Walk, segment: string): Walk {
  const path = segment.startsWith('[')
    ? `${walk.path}${segment}`
    : walk.path
      ? `${walk.path}.${segment}`
      : segment;
  return { ...walk, path, isRoot: false };
}

function checkNode(schema: JSONSchemaProps, walk: Walk, problems: string[]): void {
  const at = walk.path || '<root>';
  const report = (problem: string) => problems.push(`${at}: ${problem}`);
  const intOrString = schema['x-kubernetes-int-or-string'] === true;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'];

  if (!schema.type && !intOrString && preserve !== true) report('type must be set');
  if (intOrString && schema.type) report('x-kubernetes-int-or-string must not be combined with type');
  if (preserve === false) report('x-kubernetes-preserve-unknown-fields must be true or absent');
  if (schema.additionalProperties === false) report('additionalProperties: false is not allowed');
  if (schema.uniqueItems === true)
    report('uniqueItems cannot be true; use x-kubernetes-list-type: set or map');
  if (schema.properties && additionalPropertiesSchema(schema)) {
    report('properties and additionalProperties are mutually exclusive');
  }
  if (schema.type === 'array' && !schema.items) report('items must be set for arrays');
  if (schema.type !== 'array' && schema.items) report('items is only allowed for arrays');
  if (schema['x-kubernetes-embedded-resource'] && schema.type !== 'object') {
    report('x-kubernetes-embedded-resource requires type object');
  }
  if (schema['x-kubernetes-map-type'] && schema.type !== 'object')
    report('x-kubernetes-map-type requires type object');

  checkListType(schema, report);
  checkJunctors(schema, report);
  checkRules(schema, walk, report);
  checkDefault(schema, report);

  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    if (walk.isRoot && name === 'metadata') checkRootMetadata(property, problems);
    else checkNode(property, child(walk, name), problems);
  }
  const additional = additionalPropertiesSchema(schema);
  if (additional) checkNode(additional, child(walk, '[*]'), problems);
  if (schema.items) {
    const correlates = schema['x-kubernetes-list-type'] === 'map';
    checkNode(
      schema.items,
      { ...child(walk, '[*]'), uncorrelatable: walk.uncorrelatable || !correlates },
      problems,
    );
  }
}

function checkListType(schema: JSONSchemaProps, report: (problem: string) => void): void {
  const listType = schema['x-kubernetes-list-type'];
  const mapKeys = schema['x-kubernetes-list-map-keys'];
  if (listType && schema.type !== 'array') report('x-kubernetes-list-type requires type array');
  if (mapKeys && listType !== 'map')
    report('x-kubernetes-list-map-keys requires x-kubernetes-list-type: map');
  const items = schema.items;
  if (listType === 'set' && items && items.type && !SCALAR_TYPES.has(items.type)) {
    report('x-kubernetes-list-type: set requires scalar items');
  }
  if (listType === 'map') {
    if (!items || items.type !== 'object') report('x-kubernetes-list-type: map requires object items');
    if (!mapKeys?.length) report('x-kubernetes-list-type: map requires x-kubernetes-list-map-keys');
    for (const key of mapKeys ?? []) {
      const keySchema = items?.properties?.[key];
      if (!keySchema || !keySchema.type || !SCALAR_TYPES.has(keySchema.type)) {
        report(`list map key "${key}" must be a scalar property of the items`);
      } else if (!items?.required?.includes(key) && keySchema.default === undefined) {
        report(`list map key "${key}" must be required or have a default`);
      }
    }
  }
}

function checkJunctors(schema: JSONSchemaProps, report: (problem: string) => void): void {
  const subschemas = JUNCTORS.flatMap((junctor) => schema[junctor] ?? []);
  if (schema.not) subschemas.push(schema.not);
  const visit = (sub: JSONSchemaProps) => {
    for (const key of FORBIDDEN_IN_JUNCTORS) {
      // int-or-string may carry anyOf [{type: integer}, {type: string}], the one typed junctor allowed.
      if (key === 'type' && schema['x-kubernetes-int-or-string'] === true) continue;
      if (sub[key] !== undefined) report(`${key} is not allowed inside allOf/anyOf/oneOf/not`);
    }
    Object.values(sub.properties ?? {}).forEach(visit);
    if (sub.items) visit(sub.items);
    JUNCTORS.forEach((junctor) => sub[junctor]?.forEach(visit));
    if (sub.not) visit(sub.not);
  };
  subschemas.forEach(visit);
}

function checkRules(schema: JSONSchemaProps, walk: Walk, report: (problem: string) => void): void {
  for (const rule of schema['x-kubernetes-validations'] ?? []) {
    try {
      const compiled = compileExpression(rule.rule);
      if (compiled.referencesOldSelf && walk.uncorrelatable) {
        report(
          `rule "${rule.rule}" uses oldSelf where old values cannot be correlated (list not of type map)`,
        );
      }
    } catch (error) {
      report(`rule does not compile: ${(error as Error).message}`);
    }
    if (rule.messageExpression !== undefined) {
      try {
        compileExpression(rule.messageExpression);
      } catch (error) {
        report(`messageExpression does not compile: ${(error as Error).message}`);
      }
    }
    if (rule.fieldPath !== undefined) {
      const segments = parseFieldPath(rule.fieldPath);
      if (!segments) report(`fieldPath "${rule.fieldPath}" is not a valid relative path`);
      else if (!resolvesInSchema(schema, segments)) {
        report(`fieldPath "${rule.fieldPath}" does not name a field of this schema`);
      }
    }
    if (rule.optionalOldSelf !== undefined) report('optionalOldSelf is not supported by this validator');
  }
}

/** True when every segment of a rule's fieldPath names a declared property, map value or list item. */
function resolvesInSchema(schema: JSONSchemaProps, segments: PathSegment[]): boolean {
  let node: JSONSchemaProps | undefined = schema;
  for (const segment of segments) {
    if (!node) return false;
    if ('index' in segment) node = node.items;
    else if ('field' in segment) node = node.properties?.[segment.field] ?? additionalPropertiesSchema(node);
    else node = additionalPropertiesSchema(node);
  }
  return node !== undefined;
}

function checkDefault(schema: JSONSchemaProps, report: (problem: string) => void): void {
  if (schema.default === undefined) return;
  const value = cloneJson(schema.default);
  const pruned = prune(value, schema, false);
  if (pruned.length) report(`default has fields the schema does not declare: ${pruned.join(', ')}`);
  applyDefaults(value, schema);
  const errors: FieldError[] = [];
  validateValue(value, schema, [{ field: 'default' }], errors);
  if (!errors.length) validateCelRules(value, undefined, schema, [{ field: 'default' }], errors);
  for (const error of errors) report(`invalid default: ${error.message}`);
}

function checkRootMetadata(metadata: JSONSchemaProps, problems: string[]): void {
  const allowed = new Set(['type', 'properties', 'description']);
  for (const key of Object.keys(metadata)) {
    if (!allowed.has(key))
      problems.push(`metadata: only restrictions on name and generateName are allowed, not ${key}`);
  }
  if (metadata.type !== 'object') problems.push('metadata: type must be "object"');
  for (const [name, property] of Object.entries(metadata.properties ?? {})) {
    if (name !== 'name' && name !== 'generateName')
      problems.push(`metadata.${name}: only name and generateName`);
    if (property.type !== 'string') problems.push(`metadata.${name}: type must be "string"`);
    if (property.default !== undefined)
      problems.push(`metadata.${name}: defaults are not allowed in metadata`);
  }
}

/**
 * Paths of schema nodes without a size bound (strings without maxLength, enum or date-time format; arrays
 * without maxItems; maps without maxProperties). kube-apiserver rejects CEL rules whose estimated cost
 * over unbounded data exceeds the limit; bounding every node keeps every rule affordable.
 */
export function findUnboundedNodes(schema: JSONSchemaProps, path = ''): string[] {
  const found: string[] = [];
  const at = path || '<root>';
  if (
    schema.type === 'string' &&
    schema.maxLength === undefined &&
    !schema.enum &&
    schema.format !== 'date-time'
  ) {
    found.push(at);
  }
  if (schema.type === 'array' && schema.maxItems === undefined) found.push(at);
  const additional = additionalPropertiesSchema(schema);
  if (additional && schema.maxProperties === undefined) found.push(at);
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    // The apiserver bounds the root's metadata, apiVersion and kind itself.
    if (!path && ['metadata', 'apiVersion', 'kind'].includes(name)) continue;
    found.push(...findUnboundedNodes(property, path ? `${path}.${name}` : name));
  }
  if (additional) found.push(...findUnboundedNodes(additional, `${path}[*]`));
  if (schema.items) found.push(...findUnboundedNodes(schema.items, `${path}[*]`));
  return found;
}
