/**
 * Steady state of the agent on a configured pool: commands and LVM calls per observation, the time of
 * one observation and of one no-change apply, and the agent's resident memory.
 *
 *   npx tsx bench/agent-observe.ts [observations]     (THINPOOL_VM_SOCKET: use a running test VM)
 *
 * `rssMiB.engine` is this process (tsx, the engine and the VM client) after the observations and applies;
 * `rssMiB.cliPeak` is the peak RSS of the compiled `thinpool-agent status` process run on the host: it
 * loads everything, validates the manifest and runs one observation, whose LVM call fails there (no
 * device-mapper on the host). Needs `make build` (dist/). Prints one JSON object; BENCHMARKS.md quotes it.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import winston from 'winston';
import { toAgentSpec } from '../node-agent/agent-spec.js';
import { ThinPoolEngine } from '../node-agent/engine.js';
import type { FileStat, Host, RunOptions, RunResult, WriteFileOptions } from '../node-agent/host/host.js';
import { benchGuest, median } from './agent-vm.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const count = Number(process.argv[2] ?? 20);

/** Counts the commands that reach the guest. */
class CountingHost implements Host {
  readonly kind: string;
  readonly calls: string[][] = [];
  constructor(private readonly inner: Host) {
    this.kind = inner.kind;
  }
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    this.calls.push([...argv]);
    return this.inner.run(argv, options);
  }
  readFile(p: string): Promise<string | undefined> {
    return this.inner.readFile(p);
  }
  writeFile(p: string, content: string, options?: WriteFileOptions): Promise<void> {
    return this.inner.writeFile(p, content, options);
  }
  stat(p: string): Promise<FileStat> {
    return this.inner.stat(p);
  }
}

const { vm, done } = await benchGuest();
const log = winston.createLogger({ silent: true });
try {
  await vm.reset();
  await vm.run(['rm', '-rf', '/dev/docker']);
  const disk = vm.disk('disk2').byIdPath;
  const spec = toAgentSpec('docker', {
    volumeGroup: 'docker',
    thinPoolName: 'thinpool',
    devices: [{ path: disk }],
    wipeSignatures: false,
    dataPercent: 95,
    metadataPercent: 1,
    chunkSize: '512Ki',
    zeroing: false,
    autoExtend: { thresholdPercent: 80, extendPercent: 20, metadata: true },
    runtime: { type: 'none', drain: { enabled: false, maxUnavailable: 1 } },
    mode: 'Apply',
    deletionPolicy: 'Retain',
    paused: false,
  });
  const counting = new CountingHost(vm);
  const engine = new ThinPoolEngine({ host: counting, spec, log });
  if ((await engine.apply()).outcome !== 'applied') throw new Error('The pool was not built');

  counting.calls.length = 0;
  const observeMs: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await engine.observe();
    observeMs.push(performance.now() - started);
  }
  const calls = [...counting.calls];
  const programs = [...new Set(calls.map((c) => c.slice(0, 2).join(' ')))];

  const applyMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    const report = await engine.apply();
    if (report.executed.length > 0) throw new Error('A no-change apply ran a command');
    applyMs.push(performance.now() - started);
  }
  const rssEngine = process.memoryUsage().rss / 2 ** 20;

  let rssCli: number | undefined;
  if (existsSync(path.join(ROOT, 'dist/node-agent/main.js'))) {
    const dir = mkdtempSync(path.join(tmpdir(), 'agent-bench-'));
    const file = path.join(dir, 'thinpool.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'thinpool.dev/v1alpha1',
        kind: 'ThinPool',
        metadata: { name: 'docker' },
        spec: { devices: [{ path: disk }] },
      }),
    );
    // The CLI's own peak (getrusage of the node process), not that of the lvm child GNU time would add.
    const report =
      "process.on('exit',()=>process.stderr.write('maxrss_kib='+process.resourceUsage().maxRSS+'\\n'))";
    const timed = await execa(
      'node',
      [
        '--import',
        `data:text/javascript,${encodeURIComponent(report)}`,
        path.join(ROOT, 'dist/node-agent/main.js'),
        'status',
        '-f',
        file,
      ],
      { reject: false, env: { LOG_LEVEL: 'silent' } },
    );
    rmSync(dir, { recursive: true, force: true });
    const match = /maxrss_kib=(\d+)/.exec(timed.stderr);
    if (match) rssCli = Number(match[1]) / 1024;
  }
  console.log(
    JSON.stringify(
      {
        observations: count,
        commandsPerObservation: calls.length / count,
        lvmCallsPerObservation: calls.filter((c) => c[0] === 'lvm').length / count,
        commands: programs,
        observeMedianMs: Math.round(median(observeMs)),
        noChangeApplyMedianMs: Math.round(median(applyMs)),
        rssMiB: {
          engine: +rssEngine.toFixed(1),
          ...(rssCli !== undefined ? { cliPeak: +rssCli.toFixed(1) } : {}),
        },
      },
      null,
      2,
    ),
  );
} finally {
  await vm.reset().catch(() => undefined);
  await done();
}
