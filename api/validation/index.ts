/**
 * The one validator for objects of any `apiextensions.k8s.io/v1` CRD: pruning, defaulting, OpenAPI value
 * validation, list-type invariants and CEL `x-kubernetes-validations`, with kube-apiserver semantics and
 * field errors. Used by the API emulator, the agent's standalone mode and the tests.
 */
import { validateCelRules } from './cel-validation.js';
import { invalid, typeInvalid, type FieldError } from './field-error.js';
import {
  applyDefaults,
  cloneJson,
  isPlainObject,
  prune,
  pruneNonNullableNulls,
} from './prune-and-default.js';
import type { JSONSchemaProps } from './schema-props.js';
import { isBlockingError, jsonTypeOf, validateValue } from './value-validation.js';

export type { FieldError, FieldErrorType, FieldPath, InvalidStatus, PathSegment } from './field-error.js';
export { errorBody, fieldError, formatBadValue, invalidStatus, pathToString } from './field-error.js';
export type { JSONSchemaProps, ListType, ValidationRule, ValidationRuleReason } from './schema-props.js';
export { CelCompileError, compileExpression, escapePropertyName } from './cel-validation.js';
export { checkStructuralSchema, findUnboundedNodes } from './structural.js';
export { applyDefaults, cloneJson, prune } from './prune-and-default.js';

/** Options of {@link validateAndDefault}. */
export interface ValidateOptions {
  /** The object being replaced (UPDATE): enables transition rules (`oldSelf`). Absent on CREATE. */
  oldObject?: unknown;
}

/** Result of {@link validateAndDefault}. */
export interface ValidationResult {
  /** The pruned and defaulted copy of the input. */
  object: unknown;
  /** Every field error; empty when the object is valid. */
  errors: FieldError[];
  /** Paths of the fields pruning removed ("spec.dataPercnt"), for strict decoding or warnings. */
  unknownFields: string[];
}

/** The error kube-apiserver adds when schema errors keep it from running the CEL rules. */
const CEL_SKIPPED =
  'some validation rules were not checked because the object was invalid; correct the existing errors to complete validation';

const rulesPresence = new WeakMap<JSONSchemaProps, boolean>();

/** True when any node of the schema has `x-kubernetes-validations` (kube then builds a CEL validator). */
function hasRules(schema: JSONSchemaProps): boolean {
  let present = rulesPresence.get(schema);
  if (present === undefined) {
    const children = [
      ...Object.values(schema.properties ?? {}),
      ...(typeof schema.additionalProperties === 'object' ? [schema.additionalProperties] : []),
      ...(schema.items ? [schema.items] : []),
    ];
    present = Boolean(schema['x-kubernetes-validations']?.length) || children.some(hasRules);
    rulesPresence.set(schema, present);
  }
  return present;
}

function pruneAndDefault(
  schema: JSONSchemaProps,
  object: unknown,
): { object: unknown; unknownFields: string[] } {
  const copy = cloneJson(object);
  if (!isPlainObject(copy)) return { object: copy, unknownFields: [] };
  const unknownFields = prune(copy, schema, true);
  pruneNonNullableNulls(copy, schema);
  applyDefaults(copy, schema);
  return { object: copy, unknownFields };
}

/**
 * Prunes, defaults and validates `object` (a whole object incl. apiVersion/kind/metadata) against the
 * CRD version schema; returns the defaulted+pruned copy and all errors (empty = valid). Never mutates
 * input. As in kube-apiserver, CEL rules only run when no type, required, enum or size error blocks
 * them, and transition rules only run when `options.oldObject` is given.
 */
export function validateAndDefault(
  schema: JSONSchemaProps,
  object: unknown,
  options: ValidateOptions = {},
): ValidationResult {
  const { object: defaulted, unknownFields } = pruneAndDefault(schema, object);
  if (!isPlainObject(defaulted)) {
    const actual = jsonTypeOf(defaulted);
    return {
      object: defaulted,
      errors: [typeInvalid([], actual, `object must be of type object: "${actual}"`)],
      unknownFields,
    };
  }
  const errors: FieldError[] = [];
  validateValue(defaulted, schema, [], errors, true);
  if (!hasRules(schema)) return { object: defaulted, errors, unknownFields };
  if (errors.some(isBlockingError)) {
    errors.push(invalid([], null, CEL_SKIPPED));
  } else {
    const old =
      options.oldObject === undefined ? undefined : pruneAndDefault(schema, options.oldObject).object;
    validateCelRules(defaulted, old, schema, [], errors, true);
  }
  return { object: defaulted, errors, unknownFields };
}
