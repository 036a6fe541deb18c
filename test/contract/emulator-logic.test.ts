/**
 * The emulator's pure logic, tested directly: selector grammar, the three patch formats and the
 * strategic-merge directives, printer-column JSONPath, human durations, PDB arithmetic, continue tokens.
 */
import { describe, expect, it } from '@jest/globals';
import { assessPdb, decideEviction, resolveIntOrPercent } from '../support/kube-apiserver/eviction.js';
import { evaluateJsonPath } from '../support/kube-apiserver/jsonpath.js';
import {
  applyJsonPatch,
  applyMergePatch,
  strategicMerge,
  type Json,
} from '../support/kube-apiserver/patch.js';
import type { KubeObject } from '../support/kube-apiserver/resources.js';
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from '../support/kube-apiserver/selectors.js';
import { ApiError } from '../support/kube-apiserver/status.js';
import { decodeContinue, encodeContinue } from '../support/kube-apiserver/store.js';
import { formatCell, humanDuration } from '../support/kube-apiserver/table.js';

/** The HTTP code of the ApiError a call throws (undefined when it does not throw). */
function codeOf(call: () => unknown): number | undefined {
  try {
    call();
  } catch (err) {
    if (err instanceof ApiError) return err.code;
    throw err;
  }
  return undefined;
}

describe('label selectors', () => {
  it.each([
    ['a=1', { a: '1' }, true],
    ['a==1', { a: '2' }, false],
    ['a!=1', {}, true],
    ['a in (1, 2)', { a: '2' }, true],
    ['a notin (1,2)', { a: '3' }, true],
    ['a notin (1,2)', {}, true],
    ['a', { a: '' }, true],
    ['!a', { a: '' }, false],
    ['n>3', { n: '4' }, true],
    ['n<3', { n: 'x' }, false],
    ['a=1,b in (x),!c', { a: '1', b: 'x' }, true],
    ['example.com/role=agent', { 'example.com/role': 'agent' }, true],
  ])('%s on %j is %s', (selector, labels, expected) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(expected);
  });

  it.each(['a in 1', 'a=(x)', '=x', 'a b', 'a in ()', 'a=not valid'])('rejects %j with 400', (selector) => {
    expect(() => parseLabelSelector(selector)).toThrow(ApiError);
  });
});

describe('field selectors', () => {
  it('parses =, == and != with escaped commas', () => {
    const selector = parseFieldSelector('spec.nodeName=n\\,1,status.phase!=Failed,metadata.name==p');
    expect(selector).toEqual([
      { field: 'spec.nodeName', operator: '=', value: 'n,1' },
      { field: 'status.phase', operator: '!=', value: 'Failed' },
      { field: 'metadata.name', operator: '=', value: 'p' },
    ]);
    expect(
      matchesFields(selector, { 'spec.nodeName': 'n,1', 'status.phase': 'Running', 'metadata.name': 'p' }),
    ).toBe(true);
    expect(
      matchesFields(selector, { 'spec.nodeName': 'n,1', 'status.phase': 'Failed', 'metadata.name': 'p' }),
    ).toBe(false);
  });
});

describe('patches', () => {
  it('merge patch deletes with null and replaces lists', () => {
    expect(applyMergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [3] })).toEqual({
      a: { c: 2, d: 3 },
      l: [3],
    });
  });

  it('JSON patch supports every operation and fails a test with 422', () => {
    const doc: Json = { a: [1, 2], b: { c: 'x' } };
    const out = applyJsonPatch(doc, [
      { op: 'add', path: '/a/1', value: 9 },
      { op: 'remove', path: '/a/0' },
      { op: 'replace', path: '/b/c', value: 'y' },
      { op: 'copy', from: '/b', path: '/d' },
      { op: 'move', from: '/d/c', path: '/e' },
      { op: 'add', path: '/k~1x', value: true },
      { op: 'test', path: '/e', value: 'y' },
    ]);
    expect(out).toEqual({ a: [9, 2], b: { c: 'y' }, d: {}, e: 'y', 'k/x': true });
    expect(doc).toEqual({ a: [1, 2], b: { c: 'x' } });
    expect(codeOf(() => applyJsonPatch(doc, [{ op: 'test', path: '/a/0', value: 5 }]))).toBe(422);
    expect(() => applyJsonPatch(doc, [{ op: 'remove', path: '/nope' }])).toThrow(ApiError);
  });

  const meta = {
    list: { strategy: 'merge', mergeKey: 'name', fields: { env: { strategy: 'merge', mergeKey: 'name' } } },
    set: { strategy: 'merge' },
    plain: {},
  } as const;

  it('strategic merge merges keyed lists, unions primitive sets and replaces other lists', () => {
    const original: Json = {
      list: [
        { name: 'a', image: '1', env: [{ name: 'X', value: '1' }] },
        { name: 'b', image: '1' },
      ],
      set: ['x'],
      plain: [1, 2],
    };
    const patched = strategicMerge(
      original,
      {
        list: [{ name: 'a', image: '2', env: [{ name: 'Y', value: '2' }] }, { name: 'c' }],
        set: ['y', 'x'],
        plain: [3],
      },
      meta,
    );
    expect(patched).toEqual({
      list: [
        {
          name: 'a',
          image: '2',
          env: [
            { name: 'X', value: '1' },
            { name: 'Y', value: '2' },
          ],
        },
        { name: 'b', image: '1' },
        { name: 'c' },
      ],
      set: ['x', 'y'],
      plain: [3],
    });
  });

  it('strategic merge honours $patch, $retainKeys, $setElementOrder and $deleteFromPrimitiveList', () => {
    const original: Json = {
      list: [{ name: 'a' }, { name: 'b' }],
      set: ['x', 'y'],
      m: { k: 1, j: 2 },
      r: { a: 1, b: 2 },
    };
    expect(strategicMerge(original, { list: [{ name: 'a', $patch: 'delete' }] }, meta)).toMatchObject({
      list: [{ name: 'b' }],
    });
    expect(strategicMerge(original, { list: [{ $patch: 'replace' }, { name: 'z' }] }, meta)).toMatchObject({
      list: [{ name: 'z' }],
    });
    expect(strategicMerge(original, { m: { $patch: 'replace', q: 3 } }, meta)).toMatchObject({ m: { q: 3 } });
    expect(strategicMerge(original, { r: { $retainKeys: ['b', 'c'], c: 3 } }, meta)).toMatchObject({
      r: { b: 2, c: 3 },
    });
    expect(strategicMerge(original, { '$deleteFromPrimitiveList/set': ['x'] }, meta)).toMatchObject({
      set: ['y'],
    });
    expect(
      strategicMerge(original, { '$setElementOrder/list': [{ name: 'b' }, { name: 'a' }] }, meta),
    ).toMatchObject({
      list: [{ name: 'b' }, { name: 'a' }],
    });
  });
});

describe('printer columns', () => {
  const pool = {
    spec: { devices: [{ path: '/dev/a' }, { path: '/dev/b' }], 'dotted.key': 'v' },
    status: {
      conditions: [
        { type: 'Progressing', status: 'False' },
        { type: 'Ready', status: 'True' },
      ],
    },
  };

  it('evaluates the JSONPath forms CRDs use', () => {
    expect(evaluateJsonPath('.status.conditions[?(@.type=="Ready")].status', pool)).toEqual(['True']);
    expect(evaluateJsonPath(".status.conditions[?(@.type!='Ready')].type", pool)).toEqual(['Progressing']);
    expect(evaluateJsonPath('.spec.devices[*].path', pool)).toEqual(['/dev/a', '/dev/b']);
    expect(evaluateJsonPath('.spec.devices[-1].path', pool)).toEqual(['/dev/b']);
    expect(evaluateJsonPath(".spec['dotted.key']", pool)).toEqual(['v']);
    expect(evaluateJsonPath('.status.missing.deeper', pool)).toEqual([]);
  });

  it.each([
    [0, '0s'],
    [-1500, '0s'],
    [-5000, '<invalid>'],
    [119_000, '119s'],
    [125_000, '2m5s'],
    [600_000, '10m'],
    [3 * 3600_000 + 5 * 60_000, '3h5m'],
    [30 * 3600_000, '30h'],
    [3 * 86400_000 + 3600_000, '3d1h'],
    [400 * 86400_000, '400d'],
    [3 * 365 * 86400_000, '3y'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });

  it('formats cells by column type', () => {
    const now = Date.parse('2026-01-01T00:10:00Z');
    expect(formatCell('date', '2026-01-01T00:00:00Z', now)).toBe('10m');
    expect(formatCell('integer', 3.7, now)).toBe(3);
    expect(formatCell('boolean', 'true', now)).toBe(true);
    expect(formatCell('string', undefined, now)).toBeNull();
  });
});

describe('PodDisruptionBudgets', () => {
  const pod = (name: string, ready: boolean, phase = 'Running'): KubeObject => ({
    metadata: { name, namespace: 'ns', labels: { app: 'a' } },
    status: { phase, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });
  const pdb = (spec: Record<string, unknown>): KubeObject => ({
    metadata: { name: 'budget', namespace: 'ns' },
    spec: { selector: { matchLabels: { app: 'a' } }, ...spec },
  });

  it('resolves int-or-percent rounding up', () => {
    expect(resolveIntOrPercent('50%', 3)).toBe(2);
    expect(resolveIntOrPercent(2, 10)).toBe(2);
  });

  it('computes the budget from minAvailable or maxUnavailable', () => {
    const pods = [pod('a', true), pod('b', true), pod('c', false)];
    expect(assessPdb(pdb({ minAvailable: 2 }), pods)).toEqual({
      expectedPods: 3,
      currentHealthy: 2,
      desiredHealthy: 2,
      disruptionsAllowed: 0,
    });
    expect(assessPdb(pdb({ maxUnavailable: '34%' }), pods)).toEqual({
      expectedPods: 3,
      currentHealthy: 2,
      desiredHealthy: 1,
      disruptionsAllowed: 1,
    });
    expect(assessPdb({ metadata: { name: 'none', namespace: 'ns' }, spec: {} }, pods).expectedPods).toBe(0);
  });

  it('allows, blocks with 429, or refuses with 500 like the eviction handler', () => {
    const pods = [pod('a', true), pod('b', true)];
    expect(() => decideEviction(pods[0], [pdb({ minAvailable: 1 })], pods)).not.toThrow();
    expect(codeOf(() => decideEviction(pods[0], [pdb({ minAvailable: 2 })], pods))).toBe(429);
    expect(() => decideEviction(pod('p', true, 'Pending'), [pdb({ minAvailable: 5 })], pods)).not.toThrow();
    expect(() => decideEviction(pod('u', false), [pdb({ minAvailable: 2 })], pods)).not.toThrow();
    expect(() =>
      decideEviction(
        pod('u', false),
        [pdb({ minAvailable: 3, unhealthyPodEvictionPolicy: 'AlwaysAllow' })],
        pods,
      ),
    ).not.toThrow();
    expect(codeOf(() => decideEviction(pod('u', false), [pdb({ minAvailable: 3 })], pods))).toBe(429);
    expect(codeOf(() => decideEviction(pods[0], [pdb({}), pdb({})], pods))).toBe(500);
  });
});

describe('continue tokens', () => {
  it('round-trip and reject garbage with 400', () => {
    expect(decodeContinue(encodeContinue(42, 'ns/name\u0000'))).toEqual({ rv: 42, start: 'ns/name\u0000' });
    expect(codeOf(() => decodeContinue('not-a-token'))).toBe(400);
  });
});
