import { stringify } from 'yaml';
import winston from 'winston';
import { runCli } from '../../../node-agent/cli/cli.js';
import type { RunSummary } from '../../../node-agent/cli/render.js';
import {
  formatArgv,
  type FileStat,
  type Host,
  type RunOptions,
  type RunResult,
  type WriteFileOptions,
} from '../../../node-agent/host/host.js';
import { isMutatingCommand } from '../../../node-agent/host/logged-host.js';
import { isLvmShellRun, lvmShellCommands } from '../../../node-agent/lvm/shell.js';
import { beforeEach } from '@jest/globals';
import { useGuest, type GuestHandle } from '../../vm/guest.js';
import { findLv, type LvsRow } from '../../support/lvs.js';

/** Volume group names the agent's VM suites create. */
const TEST_VGS = ['docker', 'foreign'];

/**
 * `useGuest()` for the agent's suites: the guest is reset before each test, then the `/dev/<vg>` link
 * directories a reset can leave behind in this udev-less guest are removed (a stale `/dev/docker` makes
 * `vgcreate docker` fail with "already exists in filesystem"; hosts with udev never keep them).
 */
export function useAgentGuest(): GuestHandle {
  const guest = useGuest();
  beforeEach(async () => {
    await guest.vm.run(['rm', '-rf', '--', ...TEST_VGS.map((vg) => `/dev/${vg}`)]);
  });
  return guest;
}

/** A logger that drops everything (tests assert on behaviour, not on logs). */
export const quietLog = winston.createLogger({ silent: true });

/**
 * The mutating commands of one `run`, as the plan renders them: the command itself, or each mutating LVM
 * command of an lvm shell run (several LVM commands in one `lvm` process).
 */
export function mutatingCommands(argv: readonly string[], options?: RunOptions): string[] {
  const commands = isLvmShellRun(argv, options?.input) ? lvmShellCommands(options.input) : [argv];
  return commands.filter((c) => isMutatingCommand(c)).map((c) => formatArgv(c));
}

/** Passes everything to a host and records the mutating operations as the plan renders them. */
export class RecordingHost implements Host {
  readonly kind: string;
  readonly mutations: string[] = [];

  constructor(private readonly inner: Host) {
    this.kind = inner.kind;
  }

  run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    this.mutations.push(...mutatingCommands(argv, options));
    return this.inner.run(argv, options);
  }

  readFile(path: string): Promise<string | undefined> {
    return this.inner.readFile(path);
  }

  writeFile(path: string, content: string, options?: WriteFileOptions): Promise<void> {
    this.mutations.push(`write-file ${path}`);
    return this.inner.writeFile(path, content, options);
  }

  stat(path: string): Promise<FileStat> {
    return this.inner.stat(path);
  }
}

/** What a "killed" agent sees: every call after the kill fails like a process that no longer exists. */
export class SimulatedKill extends Error {
  constructor() {
    super('The agent was killed (SIGKILL, simulated by the fault hook)');
    this.name = 'SimulatedKill';
  }
}

/**
 * The fault hook: lets `killAfter` mutating operations (commands and file writes) complete, then behaves
 * like `kill -9` of the agent: nothing after that point runs, and the step that just finished is never
 * seen by the agent.
 */
export class KillingHost implements Host {
  readonly kind: string;
  private done = 0;
  killed = false;

  constructor(
    private readonly inner: Host,
    private readonly killAfter: number,
  ) {
    this.kind = inner.kind;
  }

  private async mutate<T>(operation: () => Promise<T>, count = 1): Promise<T> {
    if (this.killed) throw new SimulatedKill();
    const result = await operation();
    this.done += count;
    if (this.done >= this.killAfter) {
      this.killed = true;
      throw new SimulatedKill();
    }
    return result;
  }

  run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    const mutating = mutatingCommands(argv, options).length;
    if (mutating === 0) {
      if (this.killed) return Promise.reject(new SimulatedKill());
      return this.inner.run(argv, options);
    }
    return this.mutate(() => this.inner.run(argv, options), mutating);
  }

  readFile(path: string): Promise<string | undefined> {
    if (this.killed) return Promise.reject(new SimulatedKill());
    return this.inner.readFile(path);
  }

  writeFile(path: string, content: string, options?: WriteFileOptions): Promise<void> {
    return this.mutate(() => this.inner.writeFile(path, content, options));
  }

  stat(path: string): Promise<FileStat> {
    if (this.killed) return Promise.reject(new SimulatedKill());
    return this.inner.stat(path);
  }
}

/** A ThinPool manifest as YAML. */
export function manifest(spec: Record<string, unknown>, name = 'docker'): string {
  return stringify({ apiVersion: 'thinpool.dev/v1alpha1', kind: 'ThinPool', metadata: { name }, spec });
}

/** Result of one `thinpool-agent` run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The mutating operations that reached the host. */
  mutations: string[];
  /** The parsed summary with `--output json`. */
  json?: RunSummary;
}

/** Runs `thinpool-agent` (the real CLI code) against a host, with the manifest given as YAML text. */
export async function agentCli(host: Host, argv: string[], manifestYaml: string): Promise<CliRun> {
  const recording = new RecordingHost(host);
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli([...argv, '-f', '/manifest/thinpool.yaml', '--node', 'vm'], {
    host: () => recording,
    log: quietLog,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    readManifest: async () => manifestYaml,
  });
  const stdout = out.join('');
  const run: CliRun = { code, stdout, stderr: err.join(''), mutations: recording.mutations };
  if (argv.includes('json') && stdout.trim().startsWith('{')) run.json = JSON.parse(stdout) as RunSummary;
  return run;
}

/** One LV as `lvs` reports it, read independently of the agent's parser. */
export type { LvsRow };

/** Reads one LV with `lvs` (JSON, bytes); fails when it does not exist. */
export async function lvs(host: Host, lv: string): Promise<LvsRow> {
  const row = await findLv(host, lv);
  if (!row) throw new Error(`The logical volume ${lv} does not exist`);
  return row;
}

/** Reads one VG with `vgs` (JSON, bytes). */
export async function vgs(
  host: Host,
  vg: string,
): Promise<{ vg_size: string; vg_free: string; vg_extent_size: string; pv_count: string }> {
  const { stdout } = await host.run([
    'vgs',
    '--reportformat',
    'json',
    '--units',
    'b',
    '--nosuffix',
    '-o',
    'vg_size,vg_free,vg_extent_size,pv_count',
    vg,
  ]);
  return (
    JSON.parse(stdout) as {
      report: { vg: { vg_size: string; vg_free: string; vg_extent_size: string; pv_count: string }[] }[];
    }
  ).report[0]!.vg[0]!;
}

/** Runs a fixed test script in the guest (test scaffolding, never product code). */
export function guestScript(host: Host, script: string, timeoutMs = 300_000): Promise<RunResult> {
  return host.run(['bash', '-euo', 'pipefail', '-c', script], { timeoutMs });
}
