import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import winston from 'winston';
import { parseArgs, UsageError } from '../../node-agent/cli/args.js';
import { ExitCode, loadSpec, runCli } from '../../node-agent/cli/cli.js';
import { renderRunTable, renderStatusTable } from '../../node-agent/cli/render.js';
import type { Host } from '../../node-agent/host/host.js';
import { readFile } from 'node:fs/promises';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const manifest = (name: string) => path.join(ROOT, 'test/fixtures/agent', name);
const silent = winston.createLogger({ silent: true });

function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const host = (): Host => {
    throw new Error('the host must not be touched');
  };
  return runCli(argv, { host, log: silent, stdout: (t) => out.push(t), stderr: (t) => err.push(t) }).then(
    (code) => ({
      code,
      stdout: out.join(''),
      stderr: err.join(''),
    }),
  );
}

describe('parseArgs', () => {
  it('parses every option', () => {
    expect(
      parseArgs([
        'apply',
        '-f',
        'x.yaml',
        '--node',
        'n1',
        '--dry-run',
        '--output=json',
        '--host',
        'nsenter',
        '--host-root',
        '/h',
      ]),
    ).toEqual({
      command: 'apply',
      file: 'x.yaml',
      node: 'n1',
      dryRun: true,
      output: 'json',
      yesDestroyData: false,
      host: 'nsenter',
      hostRoot: '/h',
    });
    expect(parseArgs(['destroy', '--file', 'x.yaml', '--yes-destroy-data']).yesDestroyData).toBe(true);
  });

  it('refuses what it does not understand', () => {
    expect(() => parseArgs([])).toThrow(UsageError);
    expect(() => parseArgs(['run', '-f', 'x'])).toThrow(/Unknown command "run"/);
    expect(() => parseArgs(['apply'])).toThrow(/-f FILE is required/);
    expect(() => parseArgs(['apply', '-f', 'x', '--output', 'yaml'])).toThrow(/table or json/);
    expect(() => parseArgs(['status', '-f', 'x', '--dry-run'])).toThrow(/option of apply/);
    expect(() => parseArgs(['destroy', '-f', 'x'])).toThrow(/--yes-destroy-data/);
    expect(() => parseArgs(['apply', '-f'])).toThrow(/needs a value/);
  });
});

describe('runCli: bad input exits 2 and touches nothing', () => {
  it('prints the usage for bad arguments', async () => {
    const result = await cli(['apply', '--bogus']);
    expect(result.code).toBe(ExitCode.BadInput);
    expect(result.stderr).toMatch(/Unknown option "--bogus"[\s\S]*Usage:/);
  });

  it('reports every validation error of the manifest, from the shared validator', async () => {
    const result = await cli(['apply', '-f', manifest('thinpool-invalid.yaml')]);
    expect(result.code).toBe(ExitCode.BadInput);
    expect(result.stderr).toMatch(/spec\.dataPercent/);
    expect(result.stderr).toMatch(/dataPercnt/);
  });

  it('reports a missing manifest', async () => {
    const result = await cli(['status', '-f', '/nonexistent/thinpool.yaml']);
    expect(result).toMatchObject({ code: ExitCode.BadInput });
    expect(result.stderr).toMatch(/Cannot read \/nonexistent\/thinpool.yaml/);
  });

  it('refuses destroy when the deletion policy is Retain', async () => {
    const result = await cli(['destroy', '-f', manifest('thinpool-direct.yaml'), '--yes-destroy-data']);
    expect(result.code).toBe(ExitCode.BadInput);
    expect(result.stderr).toMatch(/deletionPolicy Retain; set it to Delete/);
  });
});

describe('runCli: paused', () => {
  it('does nothing for a paused ThinPool', async () => {
    const yaml = (await readFile(manifest('thinpool-direct.yaml'), 'utf8')) + '  paused: true\n';
    const err: string[] = [];
    const code = await runCli(['apply', '-f', 'x.yaml'], {
      host: () => {
        throw new Error('the host must not be touched');
      },
      log: silent,
      stdout: () => undefined,
      stderr: (t) => err.push(t),
      readManifest: async () => yaml,
    });
    expect(code).toBe(ExitCode.Done);
    expect(err.join('')).toBe('ThinPool docker is paused: nothing was done\n');
  });
});

describe('loadSpec', () => {
  it('applies the API defaults', async () => {
    const spec = await loadSpec(manifest('thinpool-direct.yaml'), (p) => readFile(p, 'utf8'));
    expect(spec).toMatchObject({
      thinPool: 'docker',
      devices: ['/dev/disk/by-id/virtio-disk1'],
      dataPercent: 95,
      metadataPercent: 1,
      chunkBytes: 512 * 1024,
      zeroing: false,
      autoExtend: { thresholdPercent: 80, extendPercent: 20, metadata: true },
    });
  });
});

describe('rendering', () => {
  it('prints each step with its explanation and exact command', () => {
    const text = renderRunTable({
      thinPool: 'docker',
      node: 'n1',
      command: 'apply',
      dryRun: true,
      outcome: 'planned',
      plan: [
        {
          kind: 'create-pv',
          explanation: 'Create a physical volume on /dev/vdb',
          command: 'pvcreate /dev/vdb',
        },
      ],
      planComplete: true,
      executed: [],
      findings: [],
      status: { phase: 'Planned' },
    });
    expect(text).toContain('  1. Create a physical volume on /dev/vdb\n     $ pvcreate /dev/vdb');
    expect(text).toContain('Dry run: nothing was changed.');
  });

  it('prints the pool', () => {
    const text = renderStatusTable('docker', 'n1', {
      phase: 'Ready',
      volumeGroup: { sizeBytes: 1069547520, freeBytes: 37748736 },
      pool: {
        dataSizeBytes: 1015021568,
        dataUsedBytes: 67108864,
        metadataSizeBytes: 8388608,
        metadataUsedBytes: 876609,
        chunkSizeBytes: 524288,
        active: true,
        monitored: true,
      },
    });
    expect(text).toContain('ThinPool docker on node n1: Ready');
    expect(text).toContain('data           968.0 MiB, 6.61% used');
  });
});

describe('the thinpool-agent executable', () => {
  it('exits 2 with the usage on bad arguments', async () => {
    const tsx = path.join(ROOT, 'node_modules/.bin/tsx');
    const result = await execa(tsx, [path.join(ROOT, 'node-agent/main.ts'), 'frobnicate'], {
      reject: false,
      cwd: ROOT,
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(
      /Unknown command "frobnicate"[\s\S]*Exit codes: 0 done, 1 failed, 2 bad input/,
    );
  }, 60_000);
});
