import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseThinPool, parseThinPoolNode } from '../../../api/thinpool-manifest.js';
import type { ThinPool, ThinPoolSpec } from '../../../api/v1alpha1/types.js';

const EXAMPLES = new URL('../../../examples/', import.meta.url);

type Spec = Record<string, unknown>;

function thinPool(spec: Spec, name = 'pool'): Record<string, unknown> {
  return { apiVersion: 'thinpool.dev/v1alpha1', kind: 'ThinPool', metadata: { name }, spec };
}

const direct: Spec = { devices: [{ path: '/dev/disk/by-id/virtio-data1' }] };
const loop: Spec = { loop: { directory: '/var/lib/thinpool', dataSize: '2Gi', metadataSize: '64Mi' } };

/** The defaults docs/api.md documents, for a spec that sets nothing else. */
const DOCUMENTED_DEFAULTS = {
  volumeGroup: 'docker',
  thinPoolName: 'thinpool',
  wipeSignatures: false,
  dataPercent: 95,
  metadataPercent: 1,
  chunkSize: '512Ki',
  zeroing: false,
  autoExtend: { thresholdPercent: 80, extendPercent: 20, metadata: true },
  runtime: { type: 'none', restartStrategy: 'Auto', drain: { enabled: false, maxUnavailable: 1 } },
  mode: 'Apply',
  deletionPolicy: 'Retain',
  paused: false,
};

function accepted(input: unknown, oldObject?: unknown): ThinPool {
  const result = parseThinPool(input, { oldObject });
  if (!result.ok)
    throw new Error(
      `Expected the ThinPool to be accepted:\n${result.errors.map((e) => e.message).join('\n')}`,
    );
  return result.thinPool;
}

function rejected(input: unknown, oldObject?: unknown) {
  const result = parseThinPool(input, { oldObject });
  if (result.ok) throw new Error('Expected the ThinPool to be rejected');
  return result.errors;
}

describe('examples/', () => {
  const files = readdirSync(EXAMPLES).filter((file) => file.endsWith('.yaml'));

  it('has the six documented examples', () => {
    expect(files.sort()).toEqual([
      'thinpool-containerd.yaml',
      'thinpool-direct-lvm-two-devices.yaml',
      'thinpool-direct-lvm.yaml',
      'thinpool-docker.yaml',
      'thinpool-loop.yaml',
      'thinpool-plan.yaml',
    ]);
  });

  it.each(files)('accepts %s with every documented default filled in', (file) => {
    const text = readFileSync(new URL(file, EXAMPLES), 'utf8');
    expect(text.startsWith('#')).toBe(true);
    const written = parse(text) as { spec: Spec };
    const spec = accepted(text).spec as unknown as Spec;
    // Every field the example sets is kept; every other field has its documented default.
    expect(spec).toMatchObject(written.spec);
    for (const [field, value] of Object.entries(DOCUMENTED_DEFAULTS)) {
      if (!(field in written.spec)) expect(spec[field]).toEqual(value);
    }
  });

  it('fills defaults inside objects the example sets partly', () => {
    const twoDevices = accepted(
      readFileSync(new URL('thinpool-direct-lvm-two-devices.yaml', EXAMPLES), 'utf8'),
    );
    expect(twoDevices.spec.autoExtend).toEqual({
      thresholdPercent: 70,
      extendPercent: 25,
      maxDataSize: '1500Gi',
      metadata: true,
    });
    const containerd = accepted(readFileSync(new URL('thinpool-containerd.yaml', EXAMPLES), 'utf8'));
    expect(containerd.spec.runtime).toEqual({
      type: 'containerd',
      restartStrategy: 'Systemd',
      containerd: {
        rootPath: '/var/lib/containerd/devmapper',
        baseImageSize: '20Gi',
        discardBlocks: true,
        criDefaultSnapshotter: true,
        disableUdev: false,
      },
      drain: { enabled: true, maxUnavailable: 1 },
    });
    const docker = accepted(readFileSync(new URL('thinpool-docker.yaml', EXAMPLES), 'utf8'));
    expect(docker.spec.runtime.docker).toEqual({
      deferredRemoval: true,
      deferredDeletion: true,
      minFreeSpacePercent: 10,
      overrideUdevSyncCheck: false,
      extraStorageOptions: ['dm.basesize=20G'],
    });
  });

  it('gives a minimal loop spec exactly the documented defaults', () => {
    expect(accepted(thinPool(loop)).spec).toEqual({ ...loop, ...DOCUMENTED_DEFAULTS });
  });

  it('defaults the runtime options blocks when they are present but empty', () => {
    const docker = accepted(thinPool({ ...direct, runtime: { type: 'docker', docker: {} } }));
    expect(docker.spec.runtime).toEqual({
      type: 'docker',
      restartStrategy: 'Auto',
      docker: {
        deferredRemoval: true,
        deferredDeletion: true,
        minFreeSpacePercent: 10,
        overrideUdevSyncCheck: false,
        extraStorageOptions: [],
      },
      drain: { enabled: false, maxUnavailable: 1 },
    });
    const containerd = accepted(thinPool({ ...direct, runtime: { type: 'containerd', containerd: {} } }));
    expect(containerd.spec.runtime.containerd).toEqual({
      rootPath: '/var/lib/containerd/devmapper',
      baseImageSize: '10Gi',
      discardBlocks: true,
      criDefaultSnapshotter: false,
      disableUdev: false,
    });
  });

  it('accepts every restart strategy and the host-specific runtime options', () => {
    for (const restartStrategy of ['Auto', 'Systemd', 'InitScript', 'Signal']) {
      expect(
        accepted(thinPool({ ...direct, runtime: { type: 'docker', restartStrategy } })).spec.runtime,
      ).toMatchObject({ restartStrategy });
    }
    const extraStorageOptions = [
      'dm.basesize=20G',
      'dm.fs=xfs',
      'dm.mkfsarg=-m crc=1',
      'dm.mountopt=nouuid',
      'dm.blkdiscard=false',
      'dm.xfs_nospace_max_retries=0',
      'dm.libdm_log_level=7',
      'dm.min_free_space_note=',
    ];
    const docker = { overrideUdevSyncCheck: true, extraStorageOptions };
    expect(
      accepted(thinPool({ ...direct, runtime: { type: 'docker', docker } })).spec.runtime.docker,
    ).toEqual({ deferredRemoval: true, deferredDeletion: true, minFreeSpacePercent: 10, ...docker });
    const containerd = { discardBlocks: false, criDefaultSnapshotter: true, disableUdev: true };
    expect(
      accepted(
        thinPool({ ...direct, runtime: { type: 'containerd', restartStrategy: 'Signal', containerd } }),
      ).spec.runtime.containerd,
    ).toMatchObject(containerd);
  });
});

/** [description, spec or whole object, field the error is reported at, text the message contains] */
const BAD_SPECS: [string, Spec, string, string][] = [
  ['no source at all', {}, 'spec', 'exactly one source must be set'],
  ['both devices and loop', { ...direct, ...loop }, 'spec', 'exactly one source must be set'],
  ['dataPercent above 99', { ...direct, dataPercent: 120 }, 'spec.dataPercent', 'less than or equal to 99'],
  ['dataPercent of 0', { ...direct, dataPercent: 0 }, 'spec.dataPercent', 'greater than or equal to 1'],
  [
    'dataPercent as a string',
    { ...direct, dataPercent: '95' },
    'spec.dataPercent',
    'must be of type integer',
  ],
  [
    'metadataPercent above 50',
    { ...direct, metadataPercent: 60 },
    'spec.metadataPercent',
    'less than or equal to 50',
  ],
  [
    'data + metadata (and its spare) above 100',
    { ...direct, dataPercent: 95, metadataPercent: 5 },
    'spec.dataPercent',
    'must not exceed 100',
  ],
  [
    'threshold below 50',
    { ...direct, autoExtend: { thresholdPercent: 40 } },
    'spec.autoExtend.thresholdPercent',
    'greater than or equal to 50',
  ],
  [
    'threshold above 100',
    { ...direct, autoExtend: { thresholdPercent: 101 } },
    'spec.autoExtend.thresholdPercent',
    'less than or equal to 100',
  ],
  [
    'extendPercent of 0',
    { ...direct, autoExtend: { extendPercent: 0 } },
    'spec.autoExtend.extendPercent',
    'greater than or equal to 1',
  ],
  [
    'maxDataSize negative',
    { ...direct, autoExtend: { maxDataSize: '-5Gi' } },
    'spec.autoExtend.maxDataSize',
    'should match',
  ],
  [
    'chunkSize not a multiple of 64Ki',
    { ...direct, chunkSize: '100Ki' },
    'spec.chunkSize',
    'multiple of 64Ki between 64Ki and 1Gi',
  ],
  [
    'chunkSize below 64Ki',
    { ...direct, chunkSize: '32Ki' },
    'spec.chunkSize',
    'multiple of 64Ki between 64Ki and 1Gi',
  ],
  [
    'chunkSize above 1Gi',
    { ...direct, chunkSize: '2Gi' },
    'spec.chunkSize',
    'multiple of 64Ki between 64Ki and 1Gi',
  ],
  ['chunkSize with a decimal suffix', { ...direct, chunkSize: '512k' }, 'spec.chunkSize', 'should match'],
  [
    'device path with ..',
    { devices: [{ path: '/dev/../etc/shadow' }] },
    'spec.devices[0].path',
    'must not contain ..',
  ],
  [
    'device path with a shell command',
    { devices: [{ path: '/dev/sdb; rm -rf /' }] },
    'spec.devices[0].path',
    'should match',
  ],
  [
    'device path with command substitution',
    { devices: [{ path: '/dev/disk/by-id/$(reboot)' }] },
    'spec.devices[0].path',
    'should match',
  ],
  [
    'device path with a space',
    { devices: [{ path: '/dev/disk/by-id/my disk' }] },
    'spec.devices[0].path',
    'should match',
  ],
  ['relative device path', { devices: [{ path: 'sdb' }] }, 'spec.devices[0].path', 'should match'],
  ['device outside /dev', { devices: [{ path: '/mnt/disk.img' }] }, 'spec.devices[0].path', 'should match'],
  ['empty device list', { devices: [] }, 'spec.devices', 'should have at least 1 items'],
  [
    'the same device twice',
    { devices: [{ path: '/dev/vdb' }, { path: '/dev/vdb' }] },
    'spec.devices[1]',
    'Duplicate value',
  ],
  [
    'too many devices',
    { devices: Array.from({ length: 17 }, (_, i) => ({ path: `/dev/vd${i}` })) },
    'spec.devices',
    'must have at most 16 items',
  ],
  ['device without path', { devices: [{}] }, 'spec.devices[0].path', 'Required value'],
  [
    'relative loop directory',
    { loop: { ...(loop.loop as Spec), directory: 'var/lib/thinpool' } },
    'spec.loop.directory',
    'should match',
  ],
  [
    'loop directory escaping with ..',
    { loop: { ...(loop.loop as Spec), directory: '/var/lib/../../etc' } },
    'spec.loop.directory',
    'must not contain . or .. segments',
  ],
  [
    'loop directory in /proc',
    { loop: { ...(loop.loop as Spec), directory: '/proc/thinpool' } },
    'spec.loop.directory',
    'must not be under /proc',
  ],
  [
    'loop directory with a shell metacharacter',
    { loop: { ...(loop.loop as Spec), directory: '/var/lib/$HOME' } },
    'spec.loop.directory',
    'should match',
  ],
  [
    'loop dataSize in an unknown unit',
    { loop: { ...(loop.loop as Spec), dataSize: '2GB' } },
    'spec.loop.dataSize',
    'should match',
  ],
  [
    'loop dataSize too small',
    { loop: { ...(loop.loop as Spec), dataSize: '10Mi' } },
    'spec.loop.dataSize',
    'loop.dataSize must be between 64Mi and 64Ti',
  ],
  [
    'loop metadataSize too large',
    { loop: { ...(loop.loop as Spec), metadataSize: '20Gi' } },
    'spec.loop.metadataSize',
    'between 8Mi and 16Gi',
  ],
  [
    'loop without metadataSize',
    { loop: { directory: '/var/lib/thinpool', dataSize: '2Gi' } },
    'spec.loop.metadataSize',
    'Required value',
  ],
  ['volumeGroup starting with -', { ...direct, volumeGroup: '-vg' }, 'spec.volumeGroup', 'should match'],
  ['volumeGroup with a space', { ...direct, volumeGroup: 'my vg' }, 'spec.volumeGroup', 'should match'],
  ['empty volumeGroup', { ...direct, volumeGroup: '' }, 'spec.volumeGroup', 'at least 1 chars long'],
  [
    'thinPoolName with a reserved suffix',
    { ...direct, thinPoolName: 'pool_tmeta' },
    'spec.thinPoolName',
    'must not contain a name LVM reserves',
  ],
  [
    'thinPoolName starting with snapshot',
    { ...direct, thinPoolName: 'snapshot1' },
    'spec.thinPoolName',
    'must not contain a name LVM reserves',
  ],
  [
    'thinPoolName too long',
    { ...direct, thinPoolName: 'p'.repeat(64) },
    'spec.thinPoolName',
    'Too long: may not be more than 63 bytes',
  ],
  [
    'unknown runtime type',
    { ...direct, runtime: { type: 'podman' } },
    'spec.runtime.type',
    'Unsupported value: "podman"',
  ],
  [
    'docker options without runtime docker',
    { ...direct, runtime: { docker: {} } },
    'spec.runtime.docker',
    'only allowed with runtime.type docker',
  ],
  [
    'containerd options with runtime docker',
    { ...direct, runtime: { type: 'docker', containerd: {} } },
    'spec.runtime.containerd',
    'only allowed with runtime.type containerd',
  ],
  [
    'minFreeSpacePercent of 100',
    { ...direct, runtime: { type: 'docker', docker: { minFreeSpacePercent: 100 } } },
    'spec.runtime.docker.minFreeSpacePercent',
    'less than or equal to 99',
  ],
  [
    'relative containerd rootPath',
    { ...direct, runtime: { type: 'containerd', containerd: { rootPath: 'var/lib/c' } } },
    'spec.runtime.containerd.rootPath',
    'should match',
  ],
  [
    'drain without a runtime',
    { ...direct, runtime: { drain: { enabled: true } } },
    'spec.runtime.drain.enabled',
    'requires runtime.type docker or containerd',
  ],
  [
    'maxUnavailable of 0',
    { ...direct, runtime: { type: 'docker', drain: { maxUnavailable: 0 } } },
    'spec.runtime.drain.maxUnavailable',
    'greater than or equal to 1',
  ],
  [
    'unknown restartStrategy',
    { ...direct, runtime: { type: 'docker', restartStrategy: 'Reboot' } },
    'spec.runtime.restartStrategy',
    'Unsupported value: "Reboot": supported values: "Auto", "Systemd", "InitScript", "Signal"',
  ],
  [
    'restartStrategy without a runtime',
    { ...direct, runtime: { restartStrategy: 'Systemd' } },
    'spec.runtime.restartStrategy',
    'runtime.restartStrategy requires runtime.type docker or containerd',
  ],
  [
    'overrideUdevSyncCheck as a string',
    { ...direct, runtime: { type: 'docker', docker: { overrideUdevSyncCheck: 'true' } } },
    'spec.runtime.docker.overrideUdevSyncCheck',
    'must be of type boolean',
  ],
  [
    'extraStorageOptions as one string',
    { ...direct, runtime: { type: 'docker', docker: { extraStorageOptions: 'dm.basesize=20G' } } },
    'spec.runtime.docker.extraStorageOptions',
    'must be of type array',
  ],
  [
    'an extra storage option without dm.',
    { ...direct, runtime: { type: 'docker', docker: { extraStorageOptions: ['basesize=20G'] } } },
    'spec.runtime.docker.extraStorageOptions[0]',
    'should match',
  ],
  [
    'an extra storage option without a value',
    { ...direct, runtime: { type: 'docker', docker: { extraStorageOptions: ['dm.basesize'] } } },
    'spec.runtime.docker.extraStorageOptions[0]',
    'should match',
  ],
  [
    'an extra storage option with an uppercase key',
    { ...direct, runtime: { type: 'docker', docker: { extraStorageOptions: ['dm.BaseSize=20G'] } } },
    'spec.runtime.docker.extraStorageOptions[0]',
    'should match',
  ],
  [
    'an extra storage option that smuggles a second line',
    {
      ...direct,
      runtime: {
        type: 'docker',
        docker: { extraStorageOptions: ['dm.basesize=20G\ndm.thinpooldev=/dev/x'] },
      },
    },
    'spec.runtime.docker.extraStorageOptions[0]',
    'should match',
  ],
  [
    'dm.thinpooldev as an extra storage option',
    {
      ...direct,
      runtime: { type: 'docker', docker: { extraStorageOptions: ['dm.thinpooldev=/dev/mapper/other-pool'] } },
    },
    'spec.runtime.docker.extraStorageOptions[0]',
    'dm.thinpooldev is set from its own field',
  ],
  [
    'dm.min_free_space as an extra storage option',
    {
      ...direct,
      runtime: {
        type: 'docker',
        docker: { extraStorageOptions: ['dm.basesize=20G', 'dm.min_free_space=5%'] },
      },
    },
    'spec.runtime.docker.extraStorageOptions[1]',
    'dm.min_free_space is set from its own field',
  ],
  [
    'dm.use_deferred_removal as an extra storage option',
    {
      ...direct,
      runtime: { type: 'docker', docker: { extraStorageOptions: ['dm.use_deferred_removal=false'] } },
    },
    'spec.runtime.docker.extraStorageOptions[0]',
    'dm.use_deferred_removal is set from its own field',
  ],
  [
    'dm.use_deferred_deletion as an extra storage option',
    {
      ...direct,
      runtime: { type: 'docker', docker: { extraStorageOptions: ['dm.use_deferred_deletion=false'] } },
    },
    'spec.runtime.docker.extraStorageOptions[0]',
    'dm.use_deferred_deletion is set from its own field',
  ],
  [
    'the udev sync override as an extra storage option',
    {
      ...direct,
      runtime: { type: 'docker', docker: { extraStorageOptions: ['dm.override_udev_sync_check=true'] } },
    },
    'spec.runtime.docker.extraStorageOptions[0]',
    'dm.override_udev_sync_check is set from its own field',
  ],
  [
    "Docker's own direct-lvm device",
    {
      ...direct,
      runtime: { type: 'docker', docker: { extraStorageOptions: ['dm.directlvm_device=/dev/xvdf'] } },
    },
    'spec.runtime.docker.extraStorageOptions[0]',
    'dm.directlvm_device belongs to the direct-lvm setup of Docker itself',
  ],
  [
    "Docker's own direct-lvm force flag",
    {
      ...direct,
      runtime: { type: 'docker', docker: { extraStorageOptions: ['dm.directlvm_device_force=true'] } },
    },
    'spec.runtime.docker.extraStorageOptions[0]',
    'dm.directlvm_device_force belongs to the direct-lvm setup of Docker itself',
  ],
  [
    "Docker's own direct-lvm thin pool sizing",
    { ...direct, runtime: { type: 'docker', docker: { extraStorageOptions: ['dm.thinp_percent=95'] } } },
    'spec.runtime.docker.extraStorageOptions[0]',
    'dm.thinp_percent belongs to the direct-lvm setup of Docker itself',
  ],
  [
    'an extra storage option key given twice',
    {
      ...direct,
      runtime: { type: 'docker', docker: { extraStorageOptions: ['dm.basesize=10G', 'dm.basesize=20G'] } },
    },
    'spec.runtime.docker.extraStorageOptions',
    'extraStorageOptions must set each dm.* key at most once',
  ],
  [
    'more than 16 extra storage options',
    {
      ...direct,
      runtime: {
        type: 'docker',
        docker: { extraStorageOptions: Array.from({ length: 17 }, (_, i) => `dm.option_${i}=1`) },
      },
    },
    'spec.runtime.docker.extraStorageOptions',
    'Too many: 17: must have at most 16 items',
  ],
  [
    'an extra storage option longer than 256 characters',
    {
      ...direct,
      runtime: { type: 'docker', docker: { extraStorageOptions: [`dm.basesize=${'9'.repeat(245)}`] } },
    },
    'spec.runtime.docker.extraStorageOptions[0]',
    'Too long: may not be more than 256 bytes',
  ],
  [
    'discardBlocks as a string',
    { ...direct, runtime: { type: 'containerd', containerd: { discardBlocks: 'no' } } },
    'spec.runtime.containerd.discardBlocks',
    'must be of type boolean',
  ],
  [
    'criDefaultSnapshotter as a number',
    { ...direct, runtime: { type: 'containerd', containerd: { criDefaultSnapshotter: 1 } } },
    'spec.runtime.containerd.criDefaultSnapshotter',
    'must be of type boolean',
  ],
  [
    'disableUdev as a string',
    { ...direct, runtime: { type: 'containerd', containerd: { disableUdev: 'yes' } } },
    'spec.runtime.containerd.disableUdev',
    'must be of type boolean',
  ],
  [
    'a containerd option under runtime.docker',
    { ...direct, runtime: { type: 'docker', docker: { disableUdev: true } } },
    'spec.runtime.docker.disableUdev',
    'unknown field',
  ],
  ['unknown mode', { ...direct, mode: 'DryRun' }, 'spec.mode', 'supported values: "Apply", "Plan"'],
  [
    'unknown deletionPolicy',
    { ...direct, deletionPolicy: 'Destroy' },
    'spec.deletionPolicy',
    'supported values: "Retain", "Delete"',
  ],
  [
    'wipeSignatures with loop',
    { ...loop, wipeSignatures: true },
    'spec.wipeSignatures',
    'only applies to spec.devices',
  ],
  [
    'nodeSelector key too long',
    { ...direct, nodeSelector: { ['k'.repeat(318)]: 'x' } },
    'spec.nodeSelector',
    'label keys of 1 to 317 characters',
  ],
  [
    'invalid nodeSelector value',
    { ...direct, nodeSelector: { zone: 'a b' } },
    'spec.nodeSelector[zone]',
    'should match',
  ],
  [
    'toleration Exists with a value',
    { ...direct, tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] },
    'spec.tolerations[0]',
    'must be empty when operator is Exists',
  ],
  [
    'toleration with an unknown effect',
    { ...direct, tolerations: [{ operator: 'Exists', effect: 'Sometimes' }] },
    'spec.tolerations[0].effect',
    'Unsupported value',
  ],
  ['paused as a string', { ...direct, paused: 'yes' }, 'spec.paused', 'must be of type boolean'],
  ['unknown field (a typo)', { ...direct, dataPercnt: 50 }, 'spec.dataPercnt', 'unknown field'],
];

describe('bad ThinPool specs', () => {
  it('has a table of at least 20 cases', () => {
    expect(BAD_SPECS.length).toBeGreaterThanOrEqual(20);
  });

  it.each(BAD_SPECS)('rejects %s, naming the field', (_description, spec, field, text) => {
    const errors = rejected(thinPool(spec));
    const matching = errors.find((error) => error.field === field && error.message.includes(text));
    if (!matching)
      throw new Error(
        `No error at ${field} containing "${text}"; got:\n${errors.map((e) => e.message).join('\n')}`,
      );
    expect(matching.message.startsWith(`${field}: `)).toBe(true);
  });

  it('rejects a pool name that is not a DNS label', () => {
    const errors = rejected(thinPool(direct, 'My.Pool'));
    expect(errors.map((e) => e.field)).toEqual(['metadata.name']);
  });

  it('rejects a document of another kind or version', () => {
    const errors = rejected({ ...thinPool(direct), apiVersion: 'thinpool.dev/v1', kind: 'Pool' });
    expect(errors.map((e) => e.message)).toEqual([
      'apiVersion: Unsupported value: "thinpool.dev/v1": supported values: "thinpool.dev/v1alpha1"',
      'kind: Unsupported value: "Pool": supported values: "ThinPool"',
    ]);
  });

  it('reports every problem of a spec at once', () => {
    const errors = rejected(thinPool({ ...direct, dataPercent: 0, chunkSize: '100Ki', mode: 'Dry' }));
    expect(errors.map((e) => e.field).sort()).toEqual(
      expect.arrayContaining(['spec.dataPercent', 'spec.mode']),
    );
  });
});

describe('ThinPool updates', () => {
  const created = accepted(thinPool({ ...direct, chunkSize: '256Ki' }));
  const createdLoop = accepted(thinPool(loop));
  const update = (base: ThinPool, change: Partial<ThinPoolSpec> | Spec): Record<string, unknown> => ({
    ...base,
    spec: { ...base.spec, ...change },
  });

  it.each([
    ['volumeGroup', { volumeGroup: 'other' }, 'spec.volumeGroup', 'volumeGroup is immutable'],
    ['thinPoolName', { thinPoolName: 'other' }, 'spec.thinPoolName', 'thinPoolName is immutable'],
    ['chunkSize', { chunkSize: '512Ki' }, 'spec.chunkSize', 'chunkSize is immutable'],
    [
      'the source type',
      { devices: undefined, ...loop },
      'spec',
      'the source type is immutable: spec.devices and spec.loop cannot be swapped after creation',
    ],
  ])('rejects a change of %s', (_what, change, field, message) => {
    const errors = rejected(update(created, change), created);
    expect(errors.map((e) => e.message)).toContain(
      `${field}: Invalid value: "${field === 'spec' ? 'object' : 'string'}": ${message}`,
    );
  });

  it('rejects moving the loop directory and shrinking loop files', () => {
    const moved = update(createdLoop, { loop: { ...createdLoop.spec.loop, directory: '/srv/thinpool' } });
    expect(rejected(moved, createdLoop).map((e) => e.field)).toEqual(['spec.loop.directory']);
    const shrunk = update(createdLoop, {
      loop: { ...createdLoop.spec.loop, dataSize: '1Gi', metadataSize: '32Mi' },
    });
    expect(rejected(shrunk, createdLoop).map((e) => e.message)).toEqual([
      'spec.loop.dataSize: Invalid value: "string": loop.dataSize cannot shrink',
      'spec.loop.metadataSize: Invalid value: "string": loop.metadataSize cannot shrink',
    ]);
  });

  it('accepts growing loop files, written in another unit', () => {
    const grown = update(createdLoop, {
      loop: { ...createdLoop.spec.loop, dataSize: '3072Mi', metadataSize: '0.125Gi' },
    });
    expect(accepted(grown, createdLoop).spec.loop).toMatchObject({
      dataSize: '3072Mi',
      metadataSize: '0.125Gi',
    });
  });

  it.each([
    ['dataPercent', { dataPercent: 90 }],
    ['metadataPercent', { metadataPercent: 2 }],
    [
      'autoExtend',
      { autoExtend: { thresholdPercent: 90, extendPercent: 10, metadata: false, maxDataSize: '1Ti' } },
    ],
    ['mode', { mode: 'Plan' }],
    ['paused', { paused: true }],
    ['deletionPolicy', { deletionPolicy: 'Delete' }],
    ['runtime', { runtime: { type: 'docker', drain: { enabled: true, maxUnavailable: 2 } } }],
    [
      'the runtime options',
      {
        runtime: {
          type: 'docker',
          restartStrategy: 'InitScript',
          docker: { overrideUdevSyncCheck: true, extraStorageOptions: ['dm.basesize=20G'] },
        },
      },
    ],
    [
      'devices (a device added)',
      { devices: [...(direct.devices as object[]), { path: '/dev/disk/by-id/virtio-data2' }] },
    ],
    ['nodeSelector', { nodeSelector: { 'kubernetes.io/hostname': 'node-1' } }],
    ['wipeSignatures', { wipeSignatures: true }],
  ])('accepts a change of %s', (_what, change) => {
    expect(accepted(update(created, change), created).spec).toMatchObject(change);
  });

  it('does not run transition rules on create', () => {
    expect(parseThinPool(thinPool({ ...direct, volumeGroup: 'other' })).ok).toBe(true);
  });
});

describe('ThinPoolNode', () => {
  const node = {
    apiVersion: 'thinpool.dev/v1alpha1',
    kind: 'ThinPoolNode',
    metadata: { name: 'pool.node-1.example.com' },
    spec: { thinPool: 'pool', nodeName: 'node-1.example.com' },
    status: {
      phase: 'Ready',
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'PoolReady',
          message: 'Thin pool is ready',
          lastTransitionTime: '2025-01-01T00:00:00Z',
        },
      ],
      devices: [{ path: '/dev/disk/by-id/virtio-data1', sizeBytes: 10737418240, state: 'InUse' }],
      volumeGroup: { sizeBytes: 10733223936, freeBytes: 0 },
      pool: {
        dataSizeBytes: 10196353024,
        dataUsedBytes: 1073741824,
        metadataSizeBytes: 109051904,
        metadataUsedBytes: 1048576,
        chunkSizeBytes: 524288,
        dataUsedPercent: 10.5,
        metadataUsedPercent: 1,
        active: true,
        monitored: true,
      },
      lastExtension: {
        time: '2025-01-01T00:00:00Z',
        kind: 'data',
        fromBytes: 1,
        toBytes: 2,
        trigger: 'threshold',
      },
      secondsToFull: { data: 3600 },
      runtime: { type: 'none', configured: true },
      lastHeartbeatTime: '2025-01-01T00:00:00Z',
      observedGeneration: 3,
    },
  };

  it('accepts a complete status', () => {
    const result = parseThinPoolNode(node);
    expect(result.ok ? [] : result.errors.map((e) => e.message)).toEqual([]);
  });

  it('requires the name <pool>.<node>', () => {
    const result = parseThinPoolNode({ ...node, metadata: { name: 'other.node-1.example.com' } });
    expect(result.ok ? [] : result.errors.map((e) => e.message)).toEqual([
      'metadata.name: Invalid value: "object": metadata.name must be <spec.thinPool>.<spec.nodeName>',
    ]);
  });

  it('keeps its pool and node immutable', () => {
    const moved = {
      ...node,
      metadata: { name: 'other.node-2' },
      spec: { thinPool: 'other', nodeName: 'node-2' },
    };
    const result = parseThinPoolNode(moved, { oldObject: node });
    expect(result.ok ? [] : result.errors.map((e) => e.message)).toEqual([
      'spec.thinPool: Invalid value: "string": thinPool is immutable',
      'spec.nodeName: Invalid value: "string": nodeName is immutable',
    ]);
  });

  it("lets the operator set and clear the node's runtime switch permission", () => {
    for (const runtimeSwitch of ['Draining', 'Allowed']) {
      const allowed = { ...node, spec: { ...node.spec, runtimeSwitch } };
      const result = parseThinPoolNode(allowed, { oldObject: node });
      expect(result.ok ? [] : result.errors.map((e) => e.message)).toEqual([]);
      const cleared = parseThinPoolNode(node, { oldObject: allowed });
      expect(cleared.ok ? [] : cleared.errors.map((e) => e.message)).toEqual([]);
    }
    const wrong = parseThinPoolNode({ ...node, spec: { ...node.spec, runtimeSwitch: 'Yes' } });
    expect(wrong.ok ? [] : wrong.errors.map((e) => e.message)).toContain(
      'spec.runtimeSwitch: Unsupported value: "Yes": supported values: "Draining", "Allowed"',
    );
  });

  it('rejects a malformed status', () => {
    const status = {
      ...node.status,
      phase: 'Happy',
      conditions: [
        { type: 'Ready', status: 'Maybe', reason: 'not camel case', message: '', lastTransitionTime: 'now' },
      ],
      devices: [...node.status.devices, { ...node.status.devices[0], state: 'Missing' }],
    };
    const result = parseThinPoolNode({ ...node, status });
    const fields = result.ok ? [] : result.errors.map((e) => e.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'status.phase',
        'status.conditions[0].status',
        'status.conditions[0].reason',
        'status.conditions[0].lastTransitionTime',
        'status.devices[1]',
      ]),
    );
  });
});
