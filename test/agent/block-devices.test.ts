import { describe, expect, it } from '@jest/globals';
import {
  parseLosetup,
  parseLsblk,
  parseWipefs,
  signatureUsage,
} from '../../node-agent/observe/block-devices.js';
import { fixture } from './support/fixtures.js';

describe('parseLsblk on recorded output', () => {
  it('flattens the tree with holders and the mountpoints below each device', () => {
    const table = parseLsblk(fixture('lsblk-used.json'));
    const vda = table.byPath.get('/dev/vda')!;
    expect(vda).toMatchObject({ type: 'disk', sizeBytes: 1073741824, mountpoints: [], readOnly: false });
    expect(vda.children).toEqual(['/dev/mapper/docker-thinpool_tmeta', '/dev/mapper/docker-thinpool_tdata']);
    expect(table.byPath.get('/dev/vdb')!.children).toEqual([]);
    expect(table.devices.filter((d) => d.type === 'loop').length).toBeGreaterThan(0);
  });

  it('sees a mounted filesystem and partitions', () => {
    expect(parseLsblk(fixture('lsblk-mounted.json')).byPath.get('/dev/vdc')!.mountpointsBelow).toEqual([
      '/mnt/c',
    ]);
    expect(parseLsblk(fixture('lsblk-partitioned.json')).byPath.get('/dev/vdd')!.children).toEqual([
      '/dev/vdd1',
    ]);
  });

  it('propagates a mountpoint of a partition up to its disk', () => {
    const json = JSON.stringify({
      blockdevices: [
        {
          name: '/dev/sda',
          kname: '/dev/sda',
          type: 'disk',
          size: 10,
          ro: false,
          mountpoints: [null],
          children: [
            { name: '/dev/sda1', kname: '/dev/sda1', type: 'part', size: 9, ro: false, mountpoints: ['/'] },
          ],
        },
      ],
    });
    expect(parseLsblk(json).byPath.get('/dev/sda')!.mountpointsBelow).toEqual(['/']);
  });
});

describe('parseLosetup', () => {
  it('maps loop devices to backing files', () => {
    expect(parseLosetup(fixture('losetup-loop.json'))).toEqual([
      { name: '/dev/loop4', backingFile: '/var/lib/tp/meta.img', backingFileDeleted: false },
      { name: '/dev/loop3', backingFile: '/var/lib/tp/data.img', backingFileDeleted: false },
    ]);
    expect(parseLosetup(fixture('losetup-none.json'))).toEqual([]);
    expect(parseLosetup('')).toEqual([]);
  });

  it('notices a deleted backing file', () => {
    const json = JSON.stringify({
      loopdevices: [{ name: '/dev/loop0', 'back-file': '/x/data.img (deleted)' }],
    });
    expect(parseLosetup(json)).toEqual([
      { name: '/dev/loop0', backingFile: '/x/data.img', backingFileDeleted: true },
    ]);
  });
});

describe('parseWipefs', () => {
  it('classifies the recorded signatures', () => {
    expect(parseWipefs(fixture('wipefs-blank.json'))).toEqual([]);
    expect(parseWipefs(fixture('wipefs-ext4.json'))).toEqual([
      { type: 'ext4', offset: '0x438', usage: 'filesystem' },
    ]);
    expect(parseWipefs(fixture('wipefs-dos.json'))).toEqual([
      { type: 'dos', offset: '0x1fe', usage: 'partition table' },
    ]);
    expect(parseWipefs(fixture('wipefs-lvm2-member.json'))).toEqual([
      { type: 'LVM2_member', offset: '0x218', usage: 'lvm' },
    ]);
  });

  it('classifies RAID and encryption', () => {
    expect(signatureUsage('linux_raid_member')).toBe('raid');
    expect(signatureUsage('crypto_LUKS')).toBe('crypto');
    expect(signatureUsage('gpt')).toBe('partition table');
    expect(signatureUsage('something_new')).toBe('other');
  });
});
