/**
 * The OpenAPI v3 schema dialect of `apiextensions.k8s.io/v1` CustomResourceDefinitions (JSONSchemaProps),
 * with the Kubernetes `x-kubernetes-*` extensions this validator understands.
 */

/** Reasons a CEL rule may report; they select the field error type (default `FieldValueInvalid`). */
export type ValidationRuleReason =
  'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';

/** One entry of `x-kubernetes-validations`. */
export interface ValidationRule {
  /** CEL expression; `self` is the value at this schema node, `oldSelf` the prior value on update. */
  rule: string;
  /** Shown when the rule evaluates to false. Default: "failed rule: <rule>". */
  message?: string;
  /** CEL expression producing the message; falls back to `message` when it fails or yields "". */
  messageExpression?: string;
  reason?: ValidationRuleReason;
  /** Relative JSON path (".spec.a", "['b']") the error is reported at, below this node. */
  fieldPath?: string;
  /** Not supported by this validator: transition rules only run on update. */
  optionalOldSelf?: boolean;
}

/** `x-kubernetes-list-type`. */
export type ListType = 'atomic' | 'set' | 'map';

/** JSONSchemaProps as in a CRD version's `schema.openAPIV3Schema`. Unknown keys are tolerated. */
export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  title?: string;
  description?: string;
  default?: unknown;
  nullable?: boolean;
  enum?: unknown[];
  maximum?: number;
  exclusiveMaximum?: boolean;
  minimum?: number;
  exclusiveMinimum?: boolean;
  multipleOf?: number;
  maxLength?: number;
  minLength?: number;
  pattern?: string;
  maxItems?: number;
  minItems?: number;
  uniqueItems?: boolean;
  items?: JSONSchemaProps;
  maxProperties?: number;
  minProperties?: number;
  required?: string[];
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  allOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: ListType;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'granular' | 'atomic';
  'x-kubernetes-validations'?: ValidationRule[];
  [key: string]: unknown;
}

/** The additionalProperties schema of a node, when it is a schema (not a boolean). */
export function additionalPropertiesSchema(schema: JSONSchemaProps): JSONSchemaProps | undefined {
  const additional = schema.additionalProperties;
  return typeof additional === 'object' && additional !== null ? additional : undefined;
}

/** True when unknown fields below this node are kept rather than pruned. */
export function preservesUnknownFields(schema: JSONSchemaProps): boolean {
  return schema['x-kubernetes-preserve-unknown-fields'] === true || schema.additionalProperties === true;
}
