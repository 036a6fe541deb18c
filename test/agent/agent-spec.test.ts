import { describe, expect, it } from '@jest/globals';
import { hostPathProblems, lvmNameProblems, SpecError, toAgentSpec } from '../../node-agent/agent-spec.js';
import { thinPoolSpec } from './support/fixtures.js';

describe('toAgentSpec', () => {
  it('derives names, paths and byte sizes', () => {
    const spec = toAgentSpec(
      'pool-a',
      thinPoolSpec({
        autoExtend: { thresholdPercent: 80, extendPercent: 20, metadata: true, maxDataSize: '2Gi' },
      }),
    );
    expect(spec).toMatchObject({
      vg: 'docker',
      pool: 'thinpool',
      metadataLv: 'thinpoolmeta',
      profileName: 'docker-thinpool',
      profilePath: '/etc/lvm/profile/docker-thinpool.profile',
      mode: 'direct',
      chunkBytes: 512 * 1024,
      autoExtend: { maxDataBytes: 2 * 1024 ** 3 },
    });
  });

  it('names the loop backing files after the VG and pool', () => {
    const spec = toAgentSpec(
      'p',
      thinPoolSpec({
        devices: undefined,
        loop: { directory: '/var/lib/thinpool', dataSize: '1Gi', metadataSize: '64Mi' },
      }),
    );
    expect(spec.loop).toEqual({
      directory: '/var/lib/thinpool',
      dataFile: '/var/lib/thinpool/docker-thinpool-data.img',
      metadataFile: '/var/lib/thinpool/docker-thinpool-metadata.img',
      dataBytes: 1024 ** 3,
      metadataBytes: 64 * 1024 ** 2,
    });
  });

  it('collects every problem of a bad spec', () => {
    const bad = thinPoolSpec({
      volumeGroup: '-bad',
      devices: [{ path: '/dev/../etc/passwd' }, { path: 'vdb' }],
      chunkSize: '100Ki',
      dataPercent: 99,
      metadataPercent: 1,
    });
    let error: SpecError | undefined;
    try {
      toAgentSpec('x', bad);
    } catch (err) {
      error = err as SpecError;
    }
    expect(error).toBeInstanceOf(SpecError);
    expect(error!.problems).toEqual([
      'volumeGroup "-bad" may only contain A-Z a-z 0-9 + _ . - and must not start with -',
      'devices[0].path "/dev/../etc/passwd" must be normalised (no empty, . or .. components)',
      'devices[1].path "vdb" must be an absolute path of safe characters',
      'chunkSize "100Ki" must be a multiple of 64Ki between 64Ki and 1Gi',
      'dataPercent + 2 x metadataPercent (metadata and its spare) must not exceed 100',
    ]);
  });

  it('refuses a loop directory under /dev or /proc and both sources at once', () => {
    expect(() =>
      toAgentSpec(
        'x',
        thinPoolSpec({ loop: { directory: '/proc/x', dataSize: '1Gi', metadataSize: '64Mi' } }),
      ),
    ).toThrow(/devices and loop are mutually exclusive.*system directory/);
  });
});

describe('name and path rules', () => {
  it('follows LVM name rules', () => {
    expect(lvmNameProblems('vg', 'docker')).toEqual([]);
    expect(lvmNameProblems('lv', 'pool_tmeta')[0]).toMatch(/reserves/);
    expect(lvmNameProblems('lv', 'a b')[0]).toMatch(/may only contain/);
  });

  it('refuses shell metacharacters and paths outside the required directory', () => {
    expect(hostPathProblems('p', '/dev/sdb;rm -rf /')[0]).toMatch(/safe characters/);
    expect(hostPathProblems('p', '/etc/passwd', '/dev')[0]).toMatch(/under \/dev\//);
  });
});

describe('loop sizes', () => {
  it('refuses loop files too small to hold one extent of metadata', () => {
    expect(() =>
      toAgentSpec(
        'x',
        thinPoolSpec({
          devices: undefined,
          loop: { directory: '/var/lib/tp', dataSize: '256Mi', metadataSize: '32Mi' },
        }),
      ),
    ).toThrow(/too small: 1% of it must hold one 4Mi extent of metadata/);
  });
});
