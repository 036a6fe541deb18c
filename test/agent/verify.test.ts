import { describe, expect, it } from '@jest/globals';
import { verify } from '../../node-agent/engine.js';
import { argv } from '../../node-agent/lvm/commands.js';
import { command } from '../../node-agent/plan/action.js';
import { agentSpec, observedFrom } from './support/fixtures.js';

const MiB = 1024 * 1024;

describe('verify: the observable effect of a step', () => {
  const blank = () => observedFrom({ report: 'fullreport-blank.json', lsblk: 'lsblk-blank.json' });
  const pool = () => observedFrom({ report: 'fullreport-pool.json', lsblk: 'lsblk-used.json' });

  it('accepts a VG and a thin pool that exist, and names what is missing', () => {
    const spec = agentSpec();
    const vgcreate = command('create-vg', 'x', argv.vgcreate('docker', ['/dev/vda']));
    expect(verify(spec, vgcreate, pool())).toBeUndefined();
    expect(verify(spec, vgcreate, blank())).toBe(
      'Volume group docker does not exist after vgcreate --addtag thinpool.dev/managed docker /dev/vda',
    );
    const convert = command(
      'convert-to-thin-pool',
      'x',
      argv.convertToThinPool('docker', 'thinpool', 'thinpoolmeta', 524288, false),
    );
    expect(verify(spec, convert, pool())).toBeUndefined();
    expect(
      verify(spec, convert, observedFrom({ report: 'fullreport-linear.json', lsblk: 'lsblk-used.json' })),
    ).toMatch(/is not a thin pool/);
  });

  it('checks activation, the attached profile and the profile content', () => {
    const spec = agentSpec();
    const inactive = observedFrom({ report: 'fullreport-inactive.json', lsblk: 'lsblk-used.json' });
    expect(
      verify(spec, command('activate-pool', 'x', argv.activate('docker', 'thinpool')), inactive),
    ).toMatch(/not active/);
    expect(
      verify(
        spec,
        command('attach-profile', 'x', argv.attachProfile('docker', 'thinpool', 'docker-thinpool')),
        pool(),
      ),
    ).toBeUndefined();
    const write = {
      kind: 'write-profile' as const,
      explanation: 'x',
      step: { type: 'write-file' as const, path: spec.profilePath, content: 'a', mode: 0o644 },
    };
    expect(verify(spec, write, { ...pool(), profileContent: 'a' })).toBeUndefined();
    expect(verify(spec, write, { ...pool(), profileContent: 'b' })).toMatch(/does not read back as written/);
  });

  it('checks that an extension reached its target', () => {
    const spec = agentSpec();
    const extension = (toBytes: number) =>
      command('extend-data', 'x', argv.extendDataToExtents('docker', 'thinpool', toBytes / (4 * MiB)), {
        kind: 'data',
        fromBytes: 900 * MiB,
        toBytes,
        trigger: 'threshold',
        reason: 'r',
      });
    expect(verify(spec, extension(968 * MiB), pool())).toBeUndefined();
    expect(verify(spec, extension(1000 * MiB), pool())).toBe(
      `Thin pool data did not reach ${1000 * MiB} bytes`,
    );
  });
});
