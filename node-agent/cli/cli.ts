import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { formatFieldErrors, parseThinPool } from '../../api/thinpool-manifest.js';
import { ThinPoolNodeConditions, type ThinPoolSpec } from '../../api/v1alpha1/types.js';
import { findCondition } from '../../common/conditions.js';
import type { Logger } from '../../common/logger.js';
import { SpecError, toAgentSpec, type AgentSpec } from '../agent-spec.js';
import { ThinPoolEngine, type RunReport } from '../engine.js';
import type { Host } from '../host/host.js';
import { LoggedHost } from '../host/logged-host.js';
import { plan } from '../plan/plan.js';
import { runtimeIntentFromSpec, validateRuntimeIntent } from '../runtime/intent.js';
import { nodeStatus } from '../status.js';
import { parseArgs, USAGE, UsageError, type CliArgs } from './args.js';
import { renderRunTable, renderStatusTable, summarize } from './render.js';
import {
  combineExitCodes,
  runRuntime,
  runtimeExitCode,
  summarizeRuntime,
  withRuntimeStatus,
  type RuntimeSummary,
  type SummarizeRuntimeInput,
} from './runtime.js';

/** Exit codes of `thinpool-agent`. */
export const ExitCode = { Done: 0, Failed: 1, BadInput: 2, Refused: 3 } as const;

/** What the CLI needs from its surroundings (real ones in main.ts, the VM guest in tests). */
export interface CliEnvironment {
  /** Creates the host for `--host` / `--host-root`. */
  host: (args: CliArgs) => Host;
  log: Logger;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Reads the manifest (default: the local file system). */
  readManifest?: (path: string) => Promise<string>;
  /** Cancels a running command (SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

/** Runs `thinpool-agent` with `argv` (without the program name); resolves to the exit code. */
export async function runCli(argv: readonly string[], env: CliEnvironment): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      env.stderr(`Error: ${err.message}\n\n${USAGE}\n`);
      return ExitCode.BadInput;
    }
    throw err;
  }
  let spec: AgentSpec;
  let thinPoolSpec: ThinPoolSpec;
  try {
    ({ spec, thinPoolSpec } = await loadManifest(
      args.file,
      env.readManifest ?? ((p) => readFile(p, 'utf8')),
    ));
  } catch (err) {
    env.stderr(`Error: ${(err as Error).message}\n`);
    return ExitCode.BadInput;
  }
  if (args.command === 'destroy' && spec.deletionPolicy !== 'Delete') {
    env.stderr(
      `Error: ThinPool ${spec.thinPool} has deletionPolicy ${spec.deletionPolicy}; set it to Delete to allow destroy\n`,
    );
    return ExitCode.BadInput;
  }
  if (args.command === 'apply' && spec.paused) {
    env.stderr(`ThinPool ${spec.thinPool} is paused: nothing was done\n`);
    return ExitCode.Done;
  }
  const node = args.node ?? hostname();
  const host = new LoggedHost(env.host(args), env.log);
  const engine = new ThinPoolEngine({ host, spec, log: env.log, lvmShell: true });
  const print = (table: string, json: unknown) =>
    env.stdout(args.output === 'json' ? `${JSON.stringify(json, null, 2)}\n` : `${table}\n`);
  const runtimeType = thinPoolSpec.runtime.type;
  /** The runtime's part: nothing at all for `runtime.type: none` (the pool alone, as before). */
  const runtimePart = async (
    command: 'apply' | 'status',
    mode: 'Apply' | 'Plan',
    poolReady: boolean,
  ): Promise<RuntimeSummary | undefined> => {
    if (runtimeType === 'none') return undefined;
    const dryRun = command === 'apply' && mode === 'Plan';
    let run: SummarizeRuntimeInput['run'];
    if (!poolReady && mode === 'Apply') run = { poolNotReady: true };
    else {
      try {
        run = await runRuntime(host, thinPoolSpec, { mode, logger: env.log, signal: env.signal });
      } catch (err) {
        env.log.error('Failed container runtime configuration', { err: (err as Error).message });
        run = { error: (err as Error).message };
      }
    }
    return summarizeRuntime({ source: thinPoolSpec, command, dryRun, run });
  };
  try {
    if (args.command === 'status') {
      const observed = await engine.observe(env.signal);
      const current = plan(spec, observed, { autoExtend: false, retryMonitoring: false });
      let status = nodeStatus({ spec, observed, plan: current, now: new Date() });
      const runtime = await runtimePart('status', 'Plan', true);
      if (runtime) status = withRuntimeStatus(status, runtime, false, new Date());
      print(renderStatusTable(spec.thinPool, node, status), {
        thinPool: spec.thinPool,
        node,
        status,
        ...(runtime ? { runtime } : {}),
      });
      return ExitCode.Done;
    }
    const dryRun = args.command === 'apply' && (args.dryRun || spec.planOnly);
    let report: RunReport;
    if (args.command === 'destroy') report = await engine.destroy(env.signal);
    else report = dryRun ? await engine.dryRun(env.signal) : await engine.apply(env.signal);
    const final =
      args.command === 'destroy'
        ? report.plan
        : plan(spec, report.observed, { autoExtend: false, retryMonitoring: false });
    let status = nodeStatus({
      spec,
      observed: report.observed,
      plan: dryRun ? report.plan : final,
      memory: engine.memory,
      failure: report.failure?.message,
      planned: dryRun,
      now: new Date(),
    });
    const poolReady =
      findCondition(status.conditions, ThinPoolNodeConditions.PoolReady)?.status === 'True' &&
      report.outcome !== 'failed';
    const runtime =
      args.command === 'apply' ? await runtimePart('apply', dryRun ? 'Plan' : 'Apply', poolReady) : undefined;
    if (runtime) status = withRuntimeStatus(status, runtime, dryRun, new Date());
    const summary = summarize(
      { thinPool: spec.thinPool, node, command: args.command, dryRun },
      report,
      status,
      runtime,
    );
    print(renderRunTable(summary), summary);
    const poolCode =
      report.outcome === 'failed'
        ? ExitCode.Failed
        : report.outcome === 'refused'
          ? ExitCode.Refused
          : ExitCode.Done;
    return runtime ? combineExitCodes(poolCode, runtimeExitCode(runtime, dryRun), runtime) : poolCode;
  } catch (err) {
    env.log.error('Failed thinpool-agent command', { command: args.command, err: (err as Error).message });
    env.stderr(`Error: ${(err as Error).message}\n`);
    return ExitCode.Failed;
  }
}

/** A validated ThinPool manifest: the agent's spec, and the defaulted API spec it came from. */
export interface LoadedManifest {
  spec: AgentSpec;
  thinPoolSpec: ThinPoolSpec;
}

/** Reads and validates a ThinPool manifest with the shared validator, then derives the agent's spec. */
export async function loadManifest(
  file: string,
  read: (path: string) => Promise<string>,
): Promise<LoadedManifest> {
  let text: string;
  try {
    text = await read(file);
  } catch (err) {
    throw new Error(`Cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = parseThinPool(text);
  if (!parsed.ok) throw new Error(`Invalid ThinPool in ${file}:\n${formatFieldErrors(parsed.errors)}`);
  const problems: string[] = [];
  let spec: AgentSpec | undefined;
  try {
    spec = toAgentSpec(parsed.thinPool.metadata.name ?? '', parsed.thinPool.spec);
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    problems.push(...err.problems);
  }
  const runtimeSource = parsed.thinPool.spec;
  if (runtimeSource.runtime.type !== 'none') {
    problems.push(...validateRuntimeIntent(runtimeIntentFromSpec(runtimeSource)).map((p) => `runtime: ${p}`));
  }
  if (problems.length > 0 || !spec) throw new Error(`Invalid ThinPool in ${file}:\n${problems.join('\n')}`);
  return { spec, thinPoolSpec: parsed.thinPool.spec };
}

/** Reads and validates a ThinPool manifest with the shared validator, then derives the agent's spec. */
export async function loadSpec(file: string, read: (path: string) => Promise<string>): Promise<AgentSpec> {
  return (await loadManifest(file, read)).spec;
}
