import { describe, expect, it } from '@jest/globals';
import {
  checkStructuralSchema,
  escapePropertyName,
  findUnboundedNodes,
  invalidStatus,
  validateAndDefault,
  type FieldError,
  type JSONSchemaProps,
} from '../../../api/validation/index.js';

/** A CRD-like root schema around a `spec` schema. */
function crd(spec: JSONSchemaProps, extra: JSONSchemaProps = {}): JSONSchemaProps {
  return {
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec,
    },
    ...extra,
  };
}

function object(spec: unknown, metadata: Record<string, unknown> = { name: 'x' }): Record<string, unknown> {
  return { apiVersion: 'example.dev/v1', kind: 'Thing', metadata, spec };
}

function specOf(result: { object: unknown }): Record<string, unknown> {
  return (result.object as { spec: Record<string, unknown> }).spec;
}

function messages(errors: FieldError[]): string[] {
  return errors.map((e) => e.message);
}

describe('validateAndDefault: pruning', () => {
  const schema = crd({
    type: 'object',
    properties: {
      known: { type: 'string', maxLength: 10 },
      nested: { type: 'object', properties: { keep: { type: 'integer' } } },
      free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      labels: { type: 'object', additionalProperties: { type: 'string', maxLength: 5 } },
    },
  });

  it('drops unknown fields at every level and reports their paths', () => {
    const input = object({ known: 'a', typo: 1, nested: { keep: 1, drop: true } });
    const result = validateAndDefault(schema, { ...input, extraTopLevel: 'x' });
    expect(result.errors).toEqual([]);
    expect(result.object).toEqual(object({ known: 'a', nested: { keep: 1 } }));
    expect(result.unknownFields.sort()).toEqual(['extraTopLevel', 'spec.nested.drop', 'spec.typo']);
  });

  it('keeps unknown fields under x-kubernetes-preserve-unknown-fields and map entries', () => {
    const spec = { free: { anything: { deep: [1, 'two'] } }, labels: { a: 'b', c: 'd' } };
    const result = validateAndDefault(schema, object(spec));
    expect(specOf(result)).toEqual(spec);
    expect(result.unknownFields).toEqual([]);
  });

  it('keeps the whole metadata of the resource root', () => {
    const metadata = { name: 'x', labels: { a: 'b' }, resourceVersion: '7', finalizers: ['f'] };
    const result = validateAndDefault(schema, object({}, metadata));
    expect((result.object as { metadata: unknown }).metadata).toEqual(metadata);
  });

  it('never mutates its input', () => {
    const input = object({ known: 'a', typo: 1 });
    const snapshot = JSON.parse(JSON.stringify(input));
    validateAndDefault(schema, input);
    expect(input).toEqual(snapshot);
  });
});

describe('validateAndDefault: defaulting', () => {
  const schema = crd({
    type: 'object',
    properties: {
      size: { type: 'integer', default: 5 },
      mode: { type: 'string', default: 'Apply' },
      withEmptyDefault: {
        type: 'object',
        default: {},
        properties: { inner: { type: 'boolean', default: true }, other: { type: 'integer' } },
      },
      withoutDefault: { type: 'object', properties: { inner: { type: 'integer', default: 3 } } },
      items: {
        type: 'array',
        items: {
          type: 'object',
          properties: { weight: { type: 'integer', default: 1 }, name: { type: 'string' } },
        },
      },
      dict: {
        type: 'object',
        additionalProperties: { type: 'object', properties: { on: { type: 'boolean', default: false } } },
      },
      nullableField: { type: 'string', nullable: true },
      plainField: { type: 'string' },
    },
  });

  it('fills missing fields, and children of objects that a default of {} created', () => {
    const result = validateAndDefault(schema, object({}));
    expect(result.errors).toEqual([]);
    expect(specOf(result)).toEqual({ size: 5, mode: 'Apply', withEmptyDefault: { inner: true } });
  });

  it('does not create absent objects that have no default, but defaults inside present ones', () => {
    expect(specOf(validateAndDefault(schema, object({}))).withoutDefault).toBeUndefined();
    expect(specOf(validateAndDefault(schema, object({ withoutDefault: {} }))).withoutDefault).toEqual({
      inner: 3,
    });
  });

  it('keeps explicit values, including false and 0', () => {
    const spec = specOf(validateAndDefault(schema, object({ size: 0, withEmptyDefault: { inner: false } })));
    expect(spec.size).toBe(0);
    expect(spec.withEmptyDefault).toEqual({ inner: false });
  });

  it('defaults array items and map values', () => {
    const spec = specOf(
      validateAndDefault(schema, object({ items: [{ name: 'a' }, { weight: 9 }], dict: { x: {} } })),
    );
    expect(spec.items).toEqual([{ name: 'a', weight: 1 }, { weight: 9 }]);
    expect(spec.dict).toEqual({ x: { on: false } });
  });

  it('replaces null with the default, drops other non-nullable nulls and keeps nullable nulls', () => {
    const result = validateAndDefault(schema, object({ size: null, plainField: null, nullableField: null }));
    expect(result.errors).toEqual([]);
    expect(specOf(result)).toMatchObject({ size: 5, nullableField: null });
    expect('plainField' in specOf(result)).toBe(false);
  });
});

describe('validateAndDefault: OpenAPI value validation', () => {
  const schema = crd({
    type: 'object',
    required: ['name'],
    properties: {
      name: { type: 'string', minLength: 2, maxLength: 5, pattern: '^[a-z]+$' },
      percent: { type: 'integer', minimum: 1, maximum: 100 },
      ratio: { type: 'number', minimum: 0, exclusiveMinimum: true, multipleOf: 0.5 },
      mode: { type: 'string', enum: ['Apply', 'Plan'] },
      tags: { type: 'array', minItems: 1, maxItems: 2, items: { type: 'string', maxLength: 3 } },
      when: { type: 'string', format: 'date-time' },
      flag: { type: 'boolean' },
      port: { 'x-kubernetes-int-or-string': true },
    },
  });

  it('accepts a valid object', () => {
    const spec = {
      name: 'abc',
      percent: 100,
      ratio: 1.5,
      mode: 'Plan',
      tags: ['a'],
      when: '2024-01-02T03:04:05Z',
      port: 'http',
    };
    expect(validateAndDefault(schema, object(spec)).errors).toEqual([]);
  });

  it('reports each violation with the field, type and kube-apiserver wording', () => {
    const spec = { name: 'ABCDEFG', percent: 120, ratio: 0, mode: 'Dry', tags: [], when: 'yesterday' };
    const result = validateAndDefault(schema, object(spec));
    expect(messages(result.errors)).toEqual(
      expect.arrayContaining([
        'spec.name: Too long: may not be more than 5 bytes',
        'spec.name: Invalid value: "ABCDEFG": spec.name in body should match \'^[a-z]+$\'',
        'spec.percent: Invalid value: 120: spec.percent in body should be less than or equal to 100',
        'spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0',
        'spec.mode: Unsupported value: "Dry": supported values: "Apply", "Plan"',
        'spec.tags: Invalid value: []: spec.tags in body should have at least 1 items',
        'spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"',
      ]),
    );
    const types = Object.fromEntries(result.errors.map((e) => [e.message, e.type]));
    expect(types['spec.name: Too long: may not be more than 5 bytes']).toBe('FieldValueTooLong');
    expect(types['spec.mode: Unsupported value: "Dry": supported values: "Apply", "Plan"']).toBe(
      'FieldValueNotSupported',
    );
  });

  it('reports missing required fields, too many items, short strings and wrong types', () => {
    const result = validateAndDefault(
      schema,
      object({ tags: ['a', 'b', 'c'], percent: 'ten', flag: 'yes', port: 1.5 }),
    );
    expect(messages(result.errors)).toEqual(
      expect.arrayContaining([
        'spec.name: Required value',
        'spec.tags: Too many: 3: must have at most 2 items',
        'spec.percent: Invalid value: "string": spec.percent in body must be of type integer: "string"',
        'spec.flag: Invalid value: "string": spec.flag in body must be of type boolean: "string"',
        'spec.port: Invalid value: "number": spec.port in body must be of type integer,string: "number"',
      ]),
    );
    const minLength = validateAndDefault(schema, object({ name: 'a' })).errors;
    expect(messages(minLength)).toEqual([
      'spec.name: Invalid value: "a": spec.name in body should be at least 2 chars long',
    ]);
  });

  it('rejects a non-object document', () => {
    const result = validateAndDefault(schema, ['not', 'an', 'object']);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0].type).toBe('FieldValueTypeInvalid');
  });

  it('validates allOf, anyOf, oneOf and not', () => {
    const junctors = crd({
      type: 'object',
      properties: {
        any: { type: 'string', anyOf: [{ pattern: '^a' }, { pattern: '^b' }] },
        one: { type: 'integer', oneOf: [{ minimum: 5 }, { maximum: 10 }] },
        not: { type: 'string', not: { enum: ['forbidden'] } },
        all: { type: 'integer', allOf: [{ minimum: 1 }, { maximum: 3 }] },
      },
    });
    expect(validateAndDefault(junctors, object({ any: 'bx', one: 11, not: 'ok', all: 2 })).errors).toEqual(
      [],
    );
    const result = validateAndDefault(junctors, object({ any: 'cx', one: 7, not: 'forbidden', all: 4 }));
    expect(messages(result.errors)).toEqual([
      'spec.any: Invalid value: "cx": spec.any in body must validate at least one schema (anyOf)',
      'spec.one: Invalid value: 7: spec.one in body must validate one and only one schema (oneOf)',
      'spec.not: Invalid value: "forbidden": spec.not in body must not validate the schema (not)',
      'spec.all: Invalid value: 4: spec.all in body should be less than or equal to 3',
    ]);
  });
});

describe('validateAndDefault: list types', () => {
  const schema = crd({
    type: 'object',
    properties: {
      set: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
      map: {
        type: 'array',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
        items: {
          type: 'object',
          required: ['type'],
          properties: { type: { type: 'string' }, status: { type: 'string' } },
        },
      },
    },
  });

  it('rejects duplicate set items and duplicate map keys', () => {
    const spec = {
      set: ['a', 'b', 'a'],
      map: [
        { type: 'Ready', status: 'True' },
        { type: 'Ready', status: 'False' },
      ],
    };
    const result = validateAndDefault(schema, object(spec));
    expect(messages(result.errors)).toEqual([
      'spec.set[2]: Duplicate value: "a"',
      'spec.map[1]: Duplicate value: {"type":"Ready"}',
    ]);
    expect(result.errors.every((e) => e.type === 'FieldValueDuplicate')).toBe(true);
  });

  it('accepts distinct items', () => {
    const spec = { set: ['a', 'b'], map: [{ type: 'Ready' }, { type: 'Degraded' }] };
    expect(validateAndDefault(schema, object(spec)).errors).toEqual([]);
  });
});

describe('validateAndDefault: CEL rules', () => {
  const schema = crd(
    {
      type: 'object',
      'x-kubernetes-validations': [
        { rule: 'has(self.a) != has(self.b)', message: 'exactly one of a and b must be set' },
        { rule: '!has(self.low) || !has(self.high) || self.low + self.high <= 100', fieldPath: '.high' },
        {
          rule: '!has(self.secret)',
          reason: 'FieldValueForbidden',
          messageExpression: "'secret ' + self.secret + ' must not be set'",
        },
      ],
      properties: {
        a: { type: 'string' },
        b: { type: 'string' },
        low: { type: 'integer' },
        high: { type: 'integer' },
        secret: { type: 'string' },
        ratio: { type: 'number' },
        name: {
          type: 'string',
          maxLength: 20,
          'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'name is immutable' }],
        },
        size: {
          type: 'string',
          maxLength: 20,
          'x-kubernetes-validations': [
            {
              rule: 'isQuantity(self) && quantity(self).isGreaterThan(quantity("1Mi"))',
              message: 'size must exceed 1Mi',
            },
            {
              rule: '!isQuantity(self) || quantity(self).asInteger() % 65536 == 0',
              message: 'multiple of 64Ki',
            },
          ],
        },
        'dash-name': { type: 'integer', 'x-kubernetes-validations': [{ rule: 'self < 10' }] },
        entries: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['key'],
          items: {
            type: 'object',
            required: ['key'],
            properties: {
              key: { type: 'string' },
              value: {
                type: 'string',
                'x-kubernetes-validations': [
                  { rule: 'self == oldSelf', message: 'entry value is immutable' },
                ],
              },
            },
          },
        },
        ruleError: {
          type: 'object',
          properties: { x: { type: 'string' } },
          'x-kubernetes-validations': [{ rule: 'self.x == "a"' }],
        },
      },
    },
    {
      'x-kubernetes-validations': [
        {
          rule: "self.metadata.name.startsWith('ok')",
          message: 'name must start with ok',
          fieldPath: '.metadata.name',
        },
      ],
    },
  );
  const ok = (spec: unknown) => object(spec, { name: 'ok-1' });

  it('passes when every rule holds', () => {
    expect(
      validateAndDefault(schema, ok({ a: 'x', low: 40, high: 60, size: '2Mi', 'dash-name': 3 })).errors,
    ).toEqual([]);
  });

  it('reports rule messages at the node, with the schema type as the bad value', () => {
    const result = validateAndDefault(schema, ok({ a: 'x', b: 'y' }));
    expect(messages(result.errors)).toEqual([
      'spec: Invalid value: "object": exactly one of a and b must be set',
    ]);
    expect(result.errors[0]).toMatchObject({ type: 'FieldValueInvalid', field: 'spec', badValue: 'object' });
  });

  it('uses the default message, fieldPath, reason and messageExpression', () => {
    const result = validateAndDefault(schema, ok({ a: 'x', low: 60, high: 60, secret: 's3' }));
    expect(messages(result.errors)).toEqual([
      'spec.high: Invalid value: "object": failed rule: !has(self.low) || !has(self.high) || self.low + self.high <= 100',
      'spec: Forbidden: secret s3 must not be set',
    ]);
  });

  it('evaluates integers as CEL ints and numbers as doubles', () => {
    expect(validateAndDefault(schema, ok({ a: 'x', low: 1, high: 2, ratio: 0.5 })).errors).toEqual([]);
  });

  it('reaches escaped property names and root metadata.name', () => {
    expect(escapePropertyName('dash-name')).toBe('dash__dash__name');
    expect(escapePropertyName('if')).toBe('__if__');
    expect(escapePropertyName('a__b.c/d')).toBe('a__underscores__b__dot__c__slash__d');
    expect(escapePropertyName('9lives')).toBeUndefined();
    const result = validateAndDefault(schema, object({ a: 'x', 'dash-name': 12 }, { name: 'bad' }));
    expect(messages(result.errors)).toEqual([
      'metadata.name: Invalid value: "object": name must start with ok',
      'spec.dash-name: Invalid value: "integer": failed rule: self < 10',
    ]);
  });

  it('implements the Kubernetes quantity library', () => {
    expect(messages(validateAndDefault(schema, ok({ a: 'x', size: '512Ki' })).errors)).toEqual([
      'spec.size: Invalid value: "string": size must exceed 1Mi',
    ]);
    expect(messages(validateAndDefault(schema, ok({ a: 'x', size: '1000000k' })).errors)).toEqual([
      'spec.size: Invalid value: "string": multiple of 64Ki',
    ]);
    expect(messages(validateAndDefault(schema, ok({ a: 'x', size: 'lots' })).errors)).toEqual([
      'spec.size: Invalid value: "string": size must exceed 1Mi',
    ]);
  });

  it('rejects reserved words as identifiers, like cel-go, and reaches such properties escaped', () => {
    const reserved = crd({
      type: 'object',
      properties: { loop: { type: 'integer' } },
      'x-kubernetes-validations': [
        { rule: 'has(self.loop)' },
        { rule: '!has(self.__loop__) || self.__loop__ < 3' },
      ],
    });
    expect(messages(validateAndDefault(reserved, object({ loop: 5 })).errors)).toEqual([
      'spec: Invalid value: "object": compilation failed: reserved identifier: loop (write __loop__) (in rule: has(self.loop))',
      'spec: Invalid value: "object": failed rule: !has(self.__loop__) || self.__loop__ < 3',
    ]);
    expect(checkStructuralSchema(reserved)).toEqual([
      'spec: rule does not compile: reserved identifier: loop (write __loop__) (in rule: has(self.loop))',
    ]);
  });

  it('reports an evaluation error as an invalid value naming the rule', () => {
    const result = validateAndDefault(schema, ok({ a: 'x', ruleError: {} }));
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0].field).toBe('spec.ruleError');
    expect(result.errors[0].detail).toContain('evaluating rule: self.x == "a"');
  });

  it('skips transition rules on create and runs them on update', () => {
    const created = ok({ a: 'x', name: 'first', entries: [{ key: 'k', value: 'v1' }] });
    expect(validateAndDefault(schema, created).errors).toEqual([]);
    const renamed = ok({ a: 'x', name: 'second', entries: [{ key: 'k', value: 'v1' }] });
    expect(messages(validateAndDefault(schema, renamed, { oldObject: created }).errors)).toEqual([
      'spec.name: Invalid value: "string": name is immutable',
    ]);
    expect(validateAndDefault(schema, created, { oldObject: created }).errors).toEqual([]);
  });

  it('correlates list-map items by key for oldSelf', () => {
    const before = ok({
      a: 'x',
      entries: [
        { key: 'k1', value: 'a' },
        { key: 'k2', value: 'b' },
      ],
    });
    const reordered = ok({
      a: 'x',
      entries: [
        { key: 'k2', value: 'b' },
        { key: 'k1', value: 'a' },
        { key: 'k3', value: 'c' },
      ],
    });
    expect(validateAndDefault(schema, reordered, { oldObject: before }).errors).toEqual([]);
    const changed = ok({ a: 'x', entries: [{ key: 'k2', value: 'changed' }] });
    expect(messages(validateAndDefault(schema, changed, { oldObject: before }).errors)).toEqual([
      'spec.entries[0].value: Invalid value: "string": entry value is immutable',
    ]);
  });

  it('does not run CEL when a blocking schema error exists, and says so', () => {
    const result = validateAndDefault(schema, ok({ a: 'x', b: 'y', low: 'many' }));
    expect(messages(result.errors)).toEqual([
      'spec.low: Invalid value: "string": spec.low in body must be of type integer: "string"',
      '<nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
    ]);
  });
});

describe('invalidStatus', () => {
  it('builds the 422 Status kube-apiserver returns', () => {
    const schema = crd({
      type: 'object',
      properties: { n: { type: 'integer', maximum: 1 } },
      required: ['m'],
    });
    const { errors } = validateAndDefault(schema, object({ n: 2 }));
    const status = invalidStatus('example.dev', 'Thing', 'x', errors);
    expect(status.code).toBe(422);
    expect(status.reason).toBe('Invalid');
    expect(status.message).toBe(
      'Thing.example.dev "x" is invalid: [spec.m: Required value, spec.n: Invalid value: 2: spec.n in body should be less than or equal to 1]',
    );
    expect(status.details.causes).toEqual([
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.m' },
      {
        reason: 'FieldValueInvalid',
        message: 'Invalid value: 2: spec.n in body should be less than or equal to 1',
        field: 'spec.n',
      },
    ]);
    expect(invalidStatus('example.dev', 'Thing', 'x', errors.slice(0, 1)).message).toBe(
      'Thing.example.dev "x" is invalid: spec.m: Required value',
    );
  });
});

describe('checkStructuralSchema', () => {
  it('accepts a structural schema', () => {
    const schema = crd({ type: 'object', properties: { a: { type: 'string', default: 'x', maxLength: 3 } } });
    expect(checkStructuralSchema(schema)).toEqual([]);
  });

  it('reports every kind of violation with its schema path', () => {
    const schema = crd({
      type: 'object',
      properties: {
        untyped: { description: 'no type' },
        closed: { type: 'object', additionalProperties: false },
        unique: { type: 'array', uniqueItems: true, items: { type: 'string' } },
        badDefault: { type: 'integer', maximum: 3, default: 5 },
        unknownInDefault: {
          type: 'object',
          properties: { a: { type: 'string' } },
          default: { a: 'x', b: 'y' },
        },
        badRule: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self ==' }] },
        typedJunctor: { type: 'string', anyOf: [{ type: 'string' }] },
        setOfObjects: {
          type: 'array',
          'x-kubernetes-list-type': 'set',
          items: {
            type: 'object',
            properties: { v: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self == oldSelf' }] } },
          },
        },
        badFieldPath: {
          type: 'object',
          properties: { a: { type: 'string' } },
          'x-kubernetes-validations': [
            { rule: 'true', fieldPath: '.b' },
            { rule: 'true', fieldPath: 'a' },
          ],
        },
        mapWithoutRequiredKey: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: { type: 'object', properties: { name: { type: 'string' } } },
        },
      },
    });
    const problems = checkStructuralSchema(schema).join('\n');
    expect(problems).toContain('spec.untyped: type must be set');
    expect(problems).toContain('spec.closed: additionalProperties: false is not allowed');
    expect(problems).toContain('spec.unique: uniqueItems cannot be true');
    expect(problems).toContain('spec.badDefault: invalid default: default: Invalid value: 5');
    expect(problems).toContain('spec.unknownInDefault: default has fields the schema does not declare: b');
    expect(problems).toContain('spec.badRule: rule does not compile');
    expect(problems).toContain('spec.typedJunctor: type is not allowed inside allOf/anyOf/oneOf/not');
    expect(problems).toContain('spec.setOfObjects: x-kubernetes-list-type: set requires scalar items');
    expect(problems).toContain(
      'spec.setOfObjects[*].v: rule "self == oldSelf" uses oldSelf where old values cannot',
    );
    expect(problems).toContain(
      'spec.mapWithoutRequiredKey: list map key "name" must be required or have a default',
    );
  });

  it('allows only name and generateName restrictions in root metadata', () => {
    const schema: JSONSchemaProps = {
      type: 'object',
      properties: {
        metadata: { type: 'object', properties: { labels: { type: 'object' }, name: { type: 'string' } } },
      },
    };
    expect(checkStructuralSchema(schema)).toEqual([
      'metadata.labels: only name and generateName',
      'metadata.labels: type must be "string"',
    ]);
  });

  it('finds nodes without size bounds', () => {
    const schema = crd({
      type: 'object',
      properties: {
        bounded: { type: 'string', maxLength: 3 },
        choice: { type: 'string', enum: ['a'] },
        free: { type: 'string' },
        list: { type: 'array', items: { type: 'string', maxLength: 1 } },
        dict: { type: 'object', additionalProperties: { type: 'string', maxLength: 1 } },
      },
    });
    expect(findUnboundedNodes(schema)).toEqual(['spec.free', 'spec.list', 'spec.dict']);
  });
});
