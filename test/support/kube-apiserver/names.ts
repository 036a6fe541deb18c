/**
 * Object metadata validation as in apimachinery (`ValidateObjectMeta`): names, label and annotation keys,
 * label values, finalizers and owner references, with kube-apiserver's field error messages.
 */
import type { InvalidField } from './status.js';
import type { KubeObject, ObjectMeta } from './resources.js';

/** How a resource's names are validated. */
export type NameRule = 'subdomain' | 'label' | 'pathSegment';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function invalidValue(field: string, value: unknown, detail: string): InvalidField {
  return {
    type: 'FieldValueInvalid',
    field,
    message: `${field}: Invalid value: ${JSON.stringify(value)}: ${detail}`,
  };
}

/** Validates an object name by rule; returns the detail text of the first failure, if any. */
export function nameProblem(name: string, rule: NameRule): string | undefined {
  if (rule === 'pathSegment') {
    if (name === '.' || name === '..') return `may not be '${name}'`;
    if (name.includes('/')) return "may not contain '/'";
    if (name.includes('%')) return "may not contain '%'";
    return undefined;
  }
  if (rule === 'label') {
    if (name.length > 63) return 'must be no more than 63 characters';
    if (!DNS1123_LABEL.test(name)) {
      return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    }
    return undefined;
  }
  if (name.length > 253) return 'must be no more than 253 characters';
  if (!DNS1123_SUBDOMAIN.test(name)) {
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  }
  return undefined;
}

/** Validates a qualified name (`prefix/name`), as label and annotation keys and finalizers are. */
export function qualifiedNameProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || nameProblem(prefix, 'subdomain'))) {
    return "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
  }
  if (name.length === 0) return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!QUALIFIED_NAME_PART.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  }
  return undefined;
}

/** Validates the metadata every kind shares; the name is checked unless `generateName` will fill it. */
export function validateObjectMeta(obj: KubeObject, rule: NameRule, isCreate: boolean): InvalidField[] {
  const meta: ObjectMeta = obj.metadata;
  const errors: InvalidField[] = [];
  if (!meta.name && !(isCreate && meta.generateName)) {
    errors.push({
      type: 'FieldValueRequired',
      field: 'metadata.name',
      message: 'metadata.name: Required value: name or generateName is required',
    });
  } else if (meta.name) {
    const problem = nameProblem(meta.name, rule);
    if (problem) errors.push(invalidValue('metadata.name', meta.name, problem));
  }
  for (const [key, value] of Object.entries(meta.labels ?? {})) {
    const problem = qualifiedNameProblem(key);
    if (problem) errors.push(invalidValue('metadata.labels', key, problem));
    if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) {
      errors.push(
        invalidValue(
          'metadata.labels',
          value,
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
      );
    }
  }
  for (const key of Object.keys(meta.annotations ?? {})) {
    const problem = qualifiedNameProblem(key.toLowerCase());
    if (problem) errors.push(invalidValue('metadata.annotations', key, problem));
  }
  (meta.finalizers ?? []).forEach((finalizer, i) => {
    const problem = qualifiedNameProblem(finalizer);
    if (problem) errors.push(invalidValue(`metadata.finalizers[${i}]`, finalizer, problem));
  });
  (meta.ownerReferences ?? []).forEach((ref, i) => {
    for (const field of ['apiVersion', 'kind', 'name', 'uid'] as const) {
      if (!ref[field]) {
        const path = `metadata.ownerReferences[${i}].${field}`;
        errors.push({
          type: 'FieldValueInvalid',
          field: path,
          message: `${path}: Invalid value: "": ${field} must not be empty`,
        });
      }
    }
  });
  const controllers = (meta.ownerReferences ?? []).filter((ref) => ref.controller === true);
  if (controllers.length > 1) {
    errors.push(
      invalidValue(
        'metadata.ownerReferences',
        meta.ownerReferences,
        'Only one reference can have Controller set to true',
      ),
    );
  }
  return errors;
}

const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** `generateName` + 5 random characters from kube's alphabet (no vowels, no confusable digits). */
export function generateName(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++)
    suffix += GENERATE_ALPHABET[Math.floor(Math.random() * GENERATE_ALPHABET.length)];
  return `${prefix.slice(0, 253 - 5)}${suffix}`;
}
