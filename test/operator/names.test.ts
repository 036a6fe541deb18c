import { describe, expect, it } from '@jest/globals';
import { daemonSetName, labelValue } from '../../operator/controller/names.js';

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

describe('labelValue', () => {
  it('keeps a name that is already a valid label value', () => {
    expect(labelValue('pool-a')).toBe('pool-a');
    expect(labelValue('node-1.example.com')).toBe('node-1.example.com');
  });

  it('shortens long names to a valid, distinct value', () => {
    const a = labelValue(`${'a'.repeat(80)}.one`);
    const b = labelValue(`${'a'.repeat(80)}.two`);
    for (const value of [a, b]) {
      expect(value.length).toBeLessThanOrEqual(63);
      expect(value).toMatch(LABEL_VALUE);
    }
    expect(a).not.toBe(b);
    expect(labelValue(`${'a'.repeat(80)}.one`)).toBe(a);
  });
});

describe('daemonSetName', () => {
  it('prefixes the pool name', () => {
    expect(daemonSetName('docker')).toBe('thinpool-agent-docker');
  });

  it('keeps long names short enough for the Pod names derived from them', () => {
    const name = daemonSetName(`pool-${'x'.repeat(200)}`);
    expect(name.length).toBeLessThanOrEqual(57);
    expect(name).toMatch(/^thinpool-agent-pool-x+-[0-9a-f]{10}$/);
    expect(daemonSetName(`pool-${'x'.repeat(199)}y`)).not.toBe(name);
  });
});
