/**
 * Reading ThinPool (and ThinPoolNode) manifests outside the API server, with exactly the validation the
 * API server applies: the agent's standalone CLI and the tests use this, the API emulator uses the same
 * validator and schema. Unknown fields are errors (kubectl's default strict field validation), so a typo
 * such as `dataPercnt` never silently drops a setting.
 */
import { parseAllDocuments } from 'yaml';
import { thinPoolNodeSchema, thinPoolSchema } from './v1alpha1/schema.js';
import {
  API_VERSION,
  type ContainerdRuntimeSpec,
  type DockerRuntimeSpec,
  type RestartStrategy,
  type ThinPool,
  type ThinPoolNode,
  type ThinPoolSpec,
} from './v1alpha1/types.js';
import {
  applyDefaults,
  fieldError,
  validateAndDefault,
  type FieldError,
  type JSONSchemaProps,
} from './validation/index.js';

/** Options of {@link parseThinPool}. */
export interface ParseOptions {
  /** The currently stored object: enables the update rules (immutable fields, sizes that cannot shrink). */
  oldObject?: unknown;
  /** Reject fields the schema does not declare (default true); false prunes them silently like the API server. */
  strict?: boolean;
}

/** Outcome of parsing: the defaulted, typed object, or every error found. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** Outcome of {@link parseThinPool}. */
export type ThinPoolParseResult = { ok: true; thinPool: ThinPool } | { ok: false; errors: FieldError[] };

function documentError(detail: string): FieldError {
  return { type: 'FieldValueInvalid', field: '<document>', detail, message: `<document>: ${detail}` };
}

/** Parses YAML text holding exactly one document; objects are passed through. */
function toObject(input: unknown): { value: unknown } | { error: FieldError } {
  if (typeof input !== 'string') return { value: input };
  const documents = parseAllDocuments(input);
  if (!Array.isArray(documents)) return { error: documentError('expected one YAML document, found none') };
  const meaningful = documents.filter((document) => document.contents !== null);
  for (const document of documents) {
    if (document.errors.length)
      return { error: documentError(`not valid YAML: ${document.errors[0].message}`) };
  }
  if (meaningful.length !== 1) {
    return { error: documentError(`expected one YAML document, found ${meaningful.length}`) };
  }
  return { value: meaningful[0].toJS() };
}

/**
 * Validates a manifest of `kind` against `schema`: YAML text or a parsed object in, the pruned, defaulted
 * object out, or the field errors kube-apiserver would report (plus unknown fields when strict).
 */
export function parseObject<T>(
  schema: JSONSchemaProps,
  kind: string,
  input: unknown,
  options: ParseOptions = {},
): ParseResult<T> {
  const parsed = toObject(input);
  if ('error' in parsed) return { ok: false, errors: [parsed.error] };
  const document = parsed.value as Record<string, unknown> | null;
  const errors: FieldError[] = [];
  if (typeof document === 'object' && document !== null && !Array.isArray(document)) {
    if (document.apiVersion !== API_VERSION) {
      errors.push(
        fieldError(
          'FieldValueNotSupported',
          'apiVersion',
          document.apiVersion ?? '',
          `supported values: "${API_VERSION}"`,
        ),
      );
    }
    if (document.kind !== kind) {
      errors.push(
        fieldError('FieldValueNotSupported', 'kind', document.kind ?? '', `supported values: "${kind}"`),
      );
    }
    const metadata = document.metadata as { name?: unknown } | undefined;
    if (typeof metadata?.name !== 'string' || metadata.name === '') {
      errors.push(fieldError('FieldValueRequired', 'metadata.name', undefined, 'name is required'));
    }
  }
  const result = validateAndDefault(schema, document, { oldObject: options.oldObject });
  errors.push(...result.errors);
  if (options.strict !== false) {
    for (const field of result.unknownFields) {
      errors.push(
        fieldError(
          'FieldValueForbidden',
          field,
          undefined,
          `unknown field, not declared in the ${kind} schema`,
        ),
      );
    }
  }
  return errors.length ? { ok: false, errors } : { ok: true, value: result.object as T };
}

/**
 * Parses and validates a ThinPool from YAML text or an object: `{ok: true, thinPool}` with every default
 * filled in, or `{ok: false, errors}` with messages such as
 * `spec.dataPercent: Invalid value: 120: spec.dataPercent in body should be less than or equal to 100`.
 */
export function parseThinPool(input: unknown, options: ParseOptions = {}): ThinPoolParseResult {
  const result = parseObject<ThinPool>(thinPoolSchema, 'ThinPool', input, options);
  return result.ok ? { ok: true, thinPool: result.value } : result;
}

/** Parses and validates a ThinPoolNode, like {@link parseThinPool}. */
export function parseThinPoolNode(input: unknown, options: ParseOptions = {}): ParseResult<ThinPoolNode> {
  return parseObject<ThinPoolNode>(thinPoolNodeSchema, 'ThinPoolNode', input, options);
}

/** One error per line, for a CLI or a log. */
export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((error) => error.message).join('\n');
}

function schemaDefaults<T>(path: string[]): T {
  let schema: JSONSchemaProps | undefined = thinPoolSchema;
  for (const name of path) schema = schema?.properties?.[name];
  const value = {};
  applyDefaults(value, schema);
  return value as T;
}

/**
 * Docker devicemapper options in effect: `spec.runtime.docker` over the schema defaults, so an unset
 * block, or one built in code before a field existed, reads as the API server would default it.
 */
export function effectiveDockerOptions(spec: ThinPoolSpec): DockerRuntimeSpec {
  return { ...schemaDefaults<DockerRuntimeSpec>(['spec', 'runtime', 'docker']), ...spec.runtime.docker };
}

/** containerd devmapper options in effect: `spec.runtime.containerd` over the schema defaults. */
export function effectiveContainerdOptions(spec: ThinPoolSpec): ContainerdRuntimeSpec {
  return {
    ...schemaDefaults<ContainerdRuntimeSpec>(['spec', 'runtime', 'containerd']),
    ...spec.runtime.containerd,
  };
}

/** The restart strategy in effect: `spec.runtime.restartStrategy`, or the schema default `Auto`. */
export function effectiveRestartStrategy(spec: ThinPoolSpec): RestartStrategy {
  return (
    spec.runtime.restartStrategy ??
    schemaDefaults<{ restartStrategy: RestartStrategy }>(['spec', 'runtime']).restartStrategy
  );
}
