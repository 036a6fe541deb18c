import { describe, expect, it } from '@jest/globals';
import {
  effectiveContainerdOptions,
  effectiveDockerOptions,
  effectiveRestartStrategy,
  formatFieldErrors,
  parseThinPool,
} from '../../../api/thinpool-manifest.js';

const VALID = `
apiVersion: thinpool.dev/v1alpha1
kind: ThinPool
metadata:
  name: pool
spec:
  devices:
    - path: /dev/disk/by-id/virtio-data1
`;

function errorsOf(input: unknown, options = {}): string[] {
  const result = parseThinPool(input, options);
  return result.ok ? [] : result.errors.map((error) => error.message);
}

describe('parseThinPool', () => {
  it('parses YAML text into a defaulted, typed ThinPool', () => {
    const result = parseThinPool(VALID);
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.thinPool.metadata.name).toBe('pool');
      expect(result.thinPool.spec.volumeGroup).toBe('docker');
      expect(result.thinPool.spec.autoExtend.thresholdPercent).toBe(80);
    }
  });

  it('accepts an already parsed object and leaves it untouched', () => {
    const object = {
      apiVersion: 'thinpool.dev/v1alpha1',
      kind: 'ThinPool',
      metadata: { name: 'pool' },
      spec: { devices: [{ path: '/dev/vdb' }] },
    };
    const copy = structuredClone(object);
    expect(parseThinPool(object).ok).toBe(true);
    expect(object).toEqual(copy);
  });

  it('reports malformed YAML, an empty input and several documents', () => {
    expect(errorsOf('spec: [unclosed')[0]).toMatch(/^<document>: not valid YAML: /);
    expect(errorsOf('')).toEqual(['<document>: expected one YAML document, found 0']);
    expect(errorsOf(`${VALID}\n---\n${VALID}`)).toEqual(['<document>: expected one YAML document, found 2']);
    expect(errorsOf('- a\n- b')[0]).toMatch(/must be of type object/);
  });

  it('requires a name', () => {
    expect(errorsOf(VALID.replace('name: pool', 'labels: {}'))).toEqual([
      'metadata.name: Required value: name is required',
    ]);
  });

  it('rejects unknown fields unless strict is off, then prunes them like the API server', () => {
    const typo = VALID.replace('  devices:', '  dataPercnt: 50\n  devices:');
    expect(errorsOf(typo)).toEqual([
      'spec.dataPercnt: Forbidden: unknown field, not declared in the ThinPool schema',
    ]);
    const lenient = parseThinPool(typo, { strict: false });
    expect(lenient.ok && 'dataPercnt' in lenient.thinPool.spec).toBe(false);
    expect(lenient.ok && lenient.thinPool.spec.dataPercent).toBe(95);
  });

  it('formats errors one per line', () => {
    const result = parseThinPool(VALID.replace('  devices:', '  dataPercent: 0\n  mode: Now\n  devices:'));
    expect(result.ok ? '' : formatFieldErrors(result.errors)).toBe(
      [
        'spec.dataPercent: Invalid value: 0: spec.dataPercent in body should be greater than or equal to 1',
        'spec.mode: Unsupported value: "Now": supported values: "Apply", "Plan"',
        '<nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
      ].join('\n'),
    );
  });
});

describe('effective runtime options', () => {
  function parsed(text: string) {
    const result = parseThinPool(text);
    if (!result.ok) throw new Error(`expected a valid ThinPool:\n${formatFieldErrors(result.errors)}`);
    return result.thinPool;
  }

  it('are the schema defaults when the options block is unset', () => {
    const { spec } = parsed(VALID);
    expect(effectiveDockerOptions(spec)).toEqual({
      deferredRemoval: true,
      deferredDeletion: true,
      minFreeSpacePercent: 10,
      overrideUdevSyncCheck: false,
      extraStorageOptions: [],
    });
    expect(effectiveContainerdOptions(spec)).toEqual({
      rootPath: '/var/lib/containerd/devmapper',
      baseImageSize: '10Gi',
      discardBlocks: true,
      criDefaultSnapshotter: false,
      disableUdev: false,
    });
    expect(effectiveRestartStrategy(spec)).toBe('Auto');
  });

  it('are the spec options when set', () => {
    const docker = parsed(
      VALID.replace(
        '  devices:',
        [
          '  runtime:',
          '    type: docker',
          '    restartStrategy: Signal',
          '    docker:',
          '      minFreeSpacePercent: 5',
          '      overrideUdevSyncCheck: true',
          '      extraStorageOptions: [dm.basesize=20G]',
          '  devices:',
        ].join('\n'),
      ),
    ).spec;
    expect(effectiveDockerOptions(docker)).toEqual({
      deferredRemoval: true,
      deferredDeletion: true,
      minFreeSpacePercent: 5,
      overrideUdevSyncCheck: true,
      extraStorageOptions: ['dm.basesize=20G'],
    });
    expect(effectiveRestartStrategy(docker)).toBe('Signal');
    const containerd = parsed(
      VALID.replace(
        '  devices:',
        '  runtime:\n    type: containerd\n    containerd:\n      discardBlocks: false\n      disableUdev: true\n  devices:',
      ),
    ).spec;
    expect(effectiveContainerdOptions(containerd)).toMatchObject({ discardBlocks: false, disableUdev: true });
  });

  it('fill in fields a block built in code leaves out, as the API server would', () => {
    const { spec } = parsed(VALID);
    const older = { deferredRemoval: false, deferredDeletion: true, minFreeSpacePercent: 20 };
    const built = {
      ...spec,
      runtime: { type: 'docker' as const, drain: spec.runtime.drain, docker: older as never },
    };
    expect(effectiveDockerOptions(built)).toEqual({
      ...older,
      overrideUdevSyncCheck: false,
      extraStorageOptions: [],
    });
    expect(effectiveRestartStrategy(built)).toBe('Auto');
  });
});
