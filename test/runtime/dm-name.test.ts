import { describe, expect, it } from '@jest/globals';
import { dmName, dmPoolName, thinPoolDevName } from '../../node-agent/runtime/dm-name.js';

describe('dmName', () => {
  it('joins VG and LV with a hyphen under /dev/mapper', () => {
    expect(dmName('docker', 'thinpool')).toBe('/dev/mapper/docker-thinpool');
  });

  it('doubles hyphens inside either name, as device-mapper does', () => {
    expect(dmPoolName('my-vg', 'thin-pool')).toBe('my--vg-thin--pool');
    expect(dmName('a--b', 'c')).toBe('/dev/mapper/a----b-c');
  });

  it('rejects names LVM would not accept', () => {
    expect(() => dmName('docker', '../etc')).toThrow(/Invalid LVM logical volume name/);
    expect(() => dmName('-vg', 'pool')).toThrow(/Invalid LVM volume group name/);
    expect(() => dmName('vg', 'a b')).toThrow(/Invalid LVM/);
  });

  it('reads dm.thinpooldev with or without the /dev/mapper prefix', () => {
    expect(thinPoolDevName('/dev/mapper/docker-thinpool')).toBe('docker-thinpool');
    expect(thinPoolDevName('docker-thinpool')).toBe('docker-thinpool');
  });
});
