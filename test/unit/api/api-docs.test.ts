import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { thinPoolNodeSchema, thinPoolSchema } from '../../../api/v1alpha1/schema.js';
import type { JSONSchemaProps } from '../../../api/validation/index.js';

const DOC = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');

function section(from: string, to: string): string {
  const start = DOC.indexOf(from);
  const end = DOC.indexOf(to, start + from.length);
  expect([from, start >= 0, end > start]).toEqual([from, true, true]);
  return DOC.slice(start, end);
}

interface Field {
  path: string;
  schema: JSONSchemaProps;
}

/** Every field below spec and status, arrays as `[]`; condition items are documented as metav1.Condition. */
function fieldsOf(schema: JSONSchemaProps): Field[] {
  const fields: Field[] = [];
  const walk = (node: JSONSchemaProps, path: string) => {
    fields.push({ path, schema: node });
    if (path.endsWith('.conditions')) return;
    for (const [name, child] of Object.entries(node.properties ?? {})) walk(child, `${path}.${name}`);
    if (node.items?.properties) {
      for (const [name, child] of Object.entries(node.items.properties)) walk(child, `${path}[].${name}`);
    }
  };
  for (const top of ['spec', 'status']) {
    for (const [name, child] of Object.entries(schema.properties?.[top]?.properties ?? {}))
      walk(child, `${top}.${name}`);
  }
  return fields;
}

/** The table row documenting `path`. */
function rowOf(text: string, path: string): string | undefined {
  return text.split('\n').find((line) => line.startsWith(`| \`${path}\` |`));
}

describe.each([
  ['ThinPool', thinPoolSchema, section('## ThinPool\n', '## ThinPoolNode'), 4],
  ['ThinPoolNode', thinPoolNodeSchema, section('## ThinPoolNode', '## Validation errors'), 2],
])('docs/api.md for %s', (_kind, schema, text, immutableFields) => {
  const fields = fieldsOf(schema);

  it('has a table row for every field of the schema', () => {
    expect(fields.length).toBeGreaterThan(10);
    expect(fields.filter((field) => !rowOf(text, field.path)).map((field) => field.path)).toEqual([]);
  });

  it('states every default', () => {
    const missing = fields
      .filter((field) => field.schema.default !== undefined)
      .filter((field) => {
        const value = field.schema.default;
        const shown = typeof value === 'object' ? JSON.stringify(value) : String(value);
        return !rowOf(text, field.path)?.includes(`\`${shown}\``);
      });
    expect(missing.map((field) => field.path)).toEqual([]);
  });

  it('lists every allowed value and every numeric range', () => {
    const missing = fields.filter((field) => {
      const row = rowOf(text, field.path) ?? '';
      const values = (field.schema.enum ?? []).map((value) =>
        value === '' ? '`""`' : `\`${String(value)}\``,
      );
      const { minimum, maximum } = field.schema;
      const range = minimum !== undefined && maximum !== undefined ? [`${minimum} to ${maximum}`] : [];
      return ![...values, ...range].every((needle) => row.includes(needle));
    });
    expect(missing.map((field) => field.path)).toEqual([]);
  });

  it('marks every immutable field', () => {
    const immutable = fields.filter((field) =>
      field.schema['x-kubernetes-validations']?.some((rule) => rule.rule === 'self == oldSelf'),
    );
    expect(immutable).toHaveLength(immutableFields);
    const unmarked = immutable.filter((field) => {
      const row = rowOf(text, field.path) ?? '';
      return (
        !row.includes('**Immutable.**') &&
        !text.includes(`The whole ${field.path.split('.')[0]} is **immutable**`)
      );
    });
    expect(unmarked.map((field) => field.path)).toEqual([]);
  });
});
