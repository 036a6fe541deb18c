import { describe, expect, it } from '@jest/globals';
import {
  configuredDataRoot,
  configuredStorageDriver,
  configuredThinPool,
  desiredStorageOptions,
  mergeDaemonJson,
  parseDaemonJson,
  validateExtraStorageOptions,
} from '../../node-agent/runtime/daemon-json.js';
import type { DockerIntent } from '../../node-agent/runtime/types.js';

const docker: DockerIntent = {
  deferredRemoval: true,
  deferredDeletion: true,
  minFreeSpacePercent: 10,
  overrideUdevSyncCheck: false,
  extraStorageOptions: [],
};
const ours = desiredStorageOptions('docker', 'thinpool', docker);

function merge(text: string | undefined, options: readonly string[] = ours) {
  const parsed = parseDaemonJson(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return mergeDaemonJson(parsed.config, text, options);
}

describe('desiredStorageOptions', () => {
  it('names the pool and the docs options, in a stable order', () => {
    expect(ours).toEqual([
      'dm.thinpooldev=/dev/mapper/docker-thinpool',
      'dm.use_deferred_removal=true',
      'dm.use_deferred_deletion=true',
      'dm.min_free_space=10%',
    ]);
  });

  it('adds the udev override only when asked, and the extra options last', () => {
    const options = desiredStorageOptions('my-vg', 'pool', {
      ...docker,
      deferredDeletion: false,
      overrideUdevSyncCheck: true,
      extraStorageOptions: ['dm.basesize=20G'],
    });
    expect(options).toEqual([
      'dm.thinpooldev=/dev/mapper/my--vg-pool',
      'dm.use_deferred_removal=true',
      'dm.use_deferred_deletion=false',
      'dm.min_free_space=10%',
      'dm.override_udev_sync_check=true',
      'dm.basesize=20G',
    ]);
  });
});

describe('parseDaemonJson', () => {
  it('treats a missing or blank file as an empty configuration', () => {
    expect(parseDaemonJson(undefined)).toEqual({ ok: true, config: {} });
    expect(parseDaemonJson('  \n')).toEqual({ ok: true, config: {} });
  });

  it('refuses text that is not JSON, naming the parse error', () => {
    const parsed = parseDaemonJson('{"log-level": "warn",}\n');
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.error).toMatch(/^not valid JSON: /);
  });

  it('refuses JSON that is not an object, and storage-opts that is not a list of strings', () => {
    expect(parseDaemonJson('["a"]')).toEqual({ ok: false, error: 'not a JSON object' });
    expect(parseDaemonJson('{"storage-opts": "dm.basesize=1G"}')).toEqual({
      ok: false,
      error: '"storage-opts" is not a list of strings',
    });
  });
});

describe('mergeDaemonJson', () => {
  it('creates the docs file when there is none', () => {
    const m = merge(undefined);
    expect(m.changed).toBe(true);
    expect(JSON.parse(m.content)).toEqual({ 'storage-driver': 'devicemapper', 'storage-opts': ours });
  });

  it('keeps every other key, in place', () => {
    const text =
      '{"log-level":"warn","storage-driver":"overlay2","labels":["a=b"],"data-root":"/srv/docker"}';
    const m = merge(text);
    expect(Object.keys(m.config)).toEqual([
      'log-level',
      'storage-driver',
      'labels',
      'data-root',
      'storage-opts',
    ]);
    expect(m.config).toMatchObject({ 'log-level': 'warn', labels: ['a=b'], 'data-root': '/srv/docker' });
    expect(m.config['storage-driver']).toBe('devicemapper');
    expect(m.content.endsWith('}\n')).toBe(true);
  });

  it('keeps other dm options, replaces ours, and drops options devicemapper on a pool rejects', () => {
    const text = JSON.stringify({
      'storage-driver': 'overlay2',
      'storage-opts': [
        'overlay2.override_kernel_check=true',
        'dm.basesize=20G',
        'dm.thinpooldev=/dev/mapper/old-pool',
        'dm.directlvm_device=/dev/xdf',
        'dm.thinp_percent=95',
        'dm.override_udev_sync_check=true',
      ],
    });
    const m = merge(text);
    expect(m.config['storage-opts']).toEqual([...ours, 'dm.basesize=20G']);
    expect(m.dropped).toEqual([
      'overlay2.override_kernel_check=true',
      'dm.directlvm_device=/dev/xdf',
      'dm.thinp_percent=95',
    ]);
  });

  it('reports no change, and keeps the text byte for byte, when the file already says the same', () => {
    const text = `{\n  "storage-opts": ${JSON.stringify([...ours].reverse())},\n  "storage-driver": "devicemapper"\n}\n`;
    const m = merge(text);
    expect(m.changed).toBe(false);
    expect(m.content).toBe(text);
  });

  it('is idempotent: merging its own output changes nothing', () => {
    const first = merge('{"debug":true,"storage-opts":["dm.basesize=5G"]}');
    const second = merge(first.content);
    expect(second.changed).toBe(false);
    expect(second.content).toBe(first.content);
  });

  it('sees a changed option value as a change', () => {
    const first = merge(undefined);
    const other = desiredStorageOptions('docker', 'thinpool', { ...docker, minFreeSpacePercent: 20 });
    expect(merge(first.content, other).changed).toBe(true);
  });
});

describe('reading what daemon.json configures', () => {
  it('finds the driver, the pool and the data root', () => {
    const config = {
      'storage-driver': 'devicemapper',
      'storage-opts': ['dm.thinpooldev=/dev/mapper/docker-thinpool'],
      graph: '/srv/docker',
    };
    expect(configuredStorageDriver(config)).toBe('devicemapper');
    expect(configuredThinPool(config)).toBe('docker-thinpool');
    expect(configuredDataRoot(config)).toBe('/srv/docker');
    expect(configuredDataRoot({ 'data-root': '/d', graph: '/g' })).toBe('/d');
    expect(configuredThinPool({})).toBeUndefined();
  });
});

describe('validateExtraStorageOptions', () => {
  it('accepts dm options with values', () => {
    expect(validateExtraStorageOptions(['dm.basesize=20G', 'dm.fs=xfs'])).toEqual([]);
  });

  it('rejects managed keys, direct-lvm keys, duplicates, other drivers and line breaks', () => {
    expect(
      validateExtraStorageOptions([
        'dm.thinpooldev=/dev/mapper/x',
        'dm.directlvm_device=/dev/sdb',
        'dm.basesize=1G',
        'dm.basesize=2G',
        'overlay2.size=1G',
        'dm.fs=ext4\n"x"',
      ]),
    ).toEqual([
      'dm.thinpooldev is set from its own spec field, not from extra storage options',
      "dm.directlvm_device configures Docker's own direct-lvm setup, which conflicts with dm.thinpooldev",
      'dm.basesize is given twice',
      '"overlay2.size=1G" is not of the form dm.<name>=<value>',
      '"dm.fs=ext4\\n\\"x\\"" is not of the form dm.<name>=<value>',
    ]);
  });
});
