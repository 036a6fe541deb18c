import type { LastExtension } from '../api/v1alpha1/types.js';
import type { Logger } from '../common/logger.js';
import type { AgentSpec } from './agent-spec.js';
import { CommandError, type Host } from './host/host.js';
import { fullReportArgv } from './lvm/commands.js';
import { parseFullReport, type LvmReport } from './lvm/report.js';
import {
  isUsableShellProfile,
  LASTLOG,
  LVM_SHELL_PROFILE_PATH,
  lvmShellLine,
  LvmShellSession,
  LvmShellUnavailable,
  runLvmShell,
} from './lvm/shell.js';
import { observe, observeLvm } from './observe/observe.js';
import { poolNumbers, poolView, type Observed } from './observe/observed.js';
import { renderStep, type Action } from './plan/action.js';
import { planDestroy } from './plan/destroy.js';
import { plan, type Finding, type Plan, type PlanContext } from './plan/plan.js';
import { addSample, type UsageSample } from './time-to-full.js';

/** Steps whose effect shows in the LVM report alone. */
const LVM_ONLY = new Set<Action['kind']>([
  'create-pv',
  'resize-pv',
  'create-vg',
  'extend-vg',
  'create-data-lv',
  'create-metadata-lv',
  'convert-to-thin-pool',
  'attach-profile',
  'set-zeroing',
  'activate-pool',
  'enable-monitoring',
  'extend-metadata',
  'extend-data',
]);

/** How a run ended. */
export type Outcome = 'no-changes' | 'applied' | 'planned' | 'refused' | 'failed';

/** One action the engine ran. */
export interface ExecutedAction {
  action: Action;
  durationMs: number;
}

/** Result of {@link ThinPoolEngine.apply}, {@link ThinPoolEngine.dryRun} and {@link ThinPoolEngine.destroy}. */
export interface RunReport {
  outcome: Outcome;
  /** The plan made from the first observation: what a dry run prints. */
  plan: Plan;
  executed: ExecutedAction[];
  failure?: { action: Action; message: string };
  /** The last observation. */
  observed: Observed;
  /** Findings of the last observation (refusals, limits, monitoring off). */
  findings: Finding[];
}

/** State an engine keeps between runs (the `run` loop keeps one engine; the CLI starts fresh). */
export interface EngineMemory {
  samples: UsageSample[];
  lastMonitorAttemptMs?: number;
  lastExtension?: LastExtension;
  /** Extensions performed, by `<kind>/<trigger>`. */
  extensions: Map<string, number>;
}

/** Options of {@link ThinPoolEngine}. */
export interface EngineOptions {
  host: Host;
  spec: AgentSpec;
  log: Logger;
  now?: () => Date;
  /** Rounds of observe-plan-apply in one run (plans that depend on earlier steps). Default 4. */
  maxRounds?: number;
  /** Minimum time between two `lvchange --monitor y` tries that did not take. Default 5 minutes. */
  monitorRetryMs?: number;
  /**
   * Run the LVM steps of an apply, and the LVM report after each, in one `lvm` shell kept running for the
   * apply when the host's lvm2 has the shell and its `lvmdbusd` profile (ADRs 0044, 0092). Default false:
   * every command runs as its own process.
   */
  lvmShell?: boolean;
}

/**
 * Observe -> plan -> apply for one pool on one node. Each run observes, plans from that snapshot, runs
 * the actions one by one re-observing after each mutating step, stops at the first failure, and plans
 * again when the plan said later steps depend on the earlier ones. Threshold-driven extension happens at
 * most once per run.
 */
export class ThinPoolEngine {
  readonly memory: EngineMemory = { samples: [], extensions: new Map() };
  /** Why the last `lvchange --monitor y` failed, when it did. */
  monitoringError?: string;
  private readonly now: () => Date;
  /** Spec devices that were PVs of the pool's VG at the last observation (see `ObserveHints`). */
  private knownPvs?: ReadonlySet<string>;
  /** Whether LVM steps go through the lvm shell; decided once, while the first apply observes. */
  private lvmShell?: Promise<boolean>;
  /** The lvm shell of the running apply or destroy, started by its first LVM step. */
  private shellSession?: LvmShellSession;

  constructor(private readonly options: EngineOptions) {
    this.now = options.now ?? (() => new Date());
  }

  get spec(): AgentSpec {
    return this.options.spec;
  }

  /** One snapshot of the node's storage; also records a usage sample for the time-to-full estimate. */
  async observe(signal?: AbortSignal): Promise<Observed> {
    const observed = await observe(this.options.host, this.options.spec, signal, { knownPvs: this.knownPvs });
    this.remember(observed);
    return observed;
  }

  /** Plans without changing anything (`--dry-run`, `mode: Plan`). */
  async dryRun(signal?: AbortSignal): Promise<RunReport> {
    const observed = await this.observe(signal);
    const first = plan(this.spec, observed, this.planContext(true));
    const refused =
      first.findings.some((f) => f.blocking) ||
      first.devices.some((d) => d.state === 'Refused' || d.state === 'Missing');
    return {
      outcome: refused ? 'refused' : 'planned',
      plan: first,
      executed: [],
      observed,
      findings: first.findings,
    };
  }

  /** Brings the pool to the spec. */
  async apply(signal?: AbortSignal): Promise<RunReport> {
    try {
      return await this.applyInSession(signal);
    } finally {
      this.closeShellSession();
    }
  }

  /** Tears the pool down (the caller checks `deletionPolicy` and the explicit confirmation). */
  async destroy(signal?: AbortSignal): Promise<RunReport> {
    try {
      return await this.destroyInSession(signal);
    } finally {
      this.closeShellSession();
    }
  }

  private closeShellSession(): void {
    this.shellSession?.close();
    this.shellSession = undefined;
  }

  private async applyInSession(signal?: AbortSignal): Promise<RunReport> {
    void this.useLvmShell();
    let observed = await this.observe(signal);
    const executed: ExecutedAction[] = [];
    const maxRounds = this.options.maxRounds ?? 4;
    let first: Plan | undefined;
    let previous = '';
    let partial = false;
    for (let round = 0; round < maxRounds; round++) {
      let current = plan(this.spec, observed, this.planContext(round === 0));
      if (partial && current.actions.length > 0) {
        // Steps remain after a round that refreshed only LVM's state: plan them from a whole snapshot.
        observed = await this.observe(signal);
        current = plan(this.spec, observed, this.planContext(round === 0));
      }
      first ??= current;
      if (current.actions.length === 0) break;
      const rendered = current.actions.map((a) => renderStep(a.step)).join('\n');
      if (rendered === previous) {
        this.options.log.warn('Stopped thin pool apply without progress', {
          thinPool: this.spec.thinPool,
          steps: rendered,
        });
        break;
      }
      previous = rendered;
      const stop = await this.runActions(current.actions, observed, executed, signal);
      observed = stop.observed ?? observed;
      partial = stop.partial ?? false;
      if (stop.failure) {
        return {
          outcome: 'failed',
          plan: first,
          executed,
          failure: stop.failure,
          observed,
          findings: current.findings,
        };
      }
    }
    // Only the findings of this plan count (limits such as MaxDataSizeReached): its actions wait for the next run.
    const final = plan(this.spec, observed, { autoExtend: true, retryMonitoring: false });
    const refused =
      final.devices.some((d) => d.state === 'Refused' || d.state === 'Missing') ||
      final.findings.some((f) => f.blocking);
    const outcome: Outcome = refused ? 'refused' : executed.length === 0 ? 'no-changes' : 'applied';
    return { outcome, plan: first!, executed, observed, findings: final.findings };
  }

  private async destroyInSession(signal?: AbortSignal): Promise<RunReport> {
    let observed = await this.observe(signal);
    const first = planDestroy(this.spec, observed);
    if (first.findings.some((f) => f.blocking)) {
      return { outcome: 'refused', plan: first, executed: [], observed, findings: first.findings };
    }
    const executed: ExecutedAction[] = [];
    const stop = await this.runActions(first.actions, observed, executed, signal);
    observed = stop.observed ?? observed;
    if (stop.failure)
      return { outcome: 'failed', plan: first, executed, failure: stop.failure, observed, findings: [] };
    return {
      outcome: executed.length === 0 ? 'no-changes' : 'applied',
      plan: first,
      executed,
      observed,
      findings: [],
    };
  }

  private planContext(firstRound: boolean): PlanContext {
    const last = this.memory.lastMonitorAttemptMs;
    const retry =
      last === undefined || this.now().getTime() - last >= (this.options.monitorRetryMs ?? 5 * 60_000);
    return { autoExtend: firstRound, retryMonitoring: retry };
  }

  private async runActions(
    actions: readonly Action[],
    before: Observed,
    executed: ExecutedAction[],
    signal?: AbortSignal,
  ): Promise<{ observed?: Observed; partial?: boolean; failure?: { action: Action; message: string } }> {
    const { host, log } = this.options;
    let observed: Observed = before;
    let partial = false;
    for (const action of actions) {
      const started = performance.now();
      if (action.kind === 'enable-monitoring') this.memory.lastMonitorAttemptMs = this.now().getTime();
      let lvmAfter: LvmReport | undefined;
      try {
        if (action.step.type === 'write-file')
          await host.writeFile(action.step.path, action.step.content, { mode: action.step.mode });
        else if (LVM_ONLY.has(action.kind)) lvmAfter = await this.runLvmStep(action.step.argv, signal);
        else await host.run(action.step.argv, { signal });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (action.kind === 'enable-monitoring' && err instanceof CommandError) {
          // Monitoring is best effort (dmeventd may be missing, e.g. in a container): report it, go on.
          log.warn('Failed to enable thin pool monitoring', { thinPool: this.spec.thinPool, err: message });
          this.monitoringError = message;
          continue;
        }
        log.error('Failed thin pool action', {
          thinPool: this.spec.thinPool,
          action: action.kind,
          explanation: action.explanation,
          err: message,
        });
        const after = await this.observe(signal).catch(() => undefined);
        return { observed: after, failure: { action, message } };
      }
      executed.push({ action, durationMs: performance.now() - started });
      log.info('Applied thin pool action', {
        thinPool: this.spec.thinPool,
        action: action.kind,
        explanation: action.explanation,
      });
      partial = LVM_ONLY.has(action.kind) || action.kind === 'write-profile';
      observed = await this.reobserve(action, observed, lvmAfter, signal);
      if (action.extension) this.recordExtension(action);
      const problem = verify(this.spec, action, observed);
      if (problem) {
        log.error('Failed thin pool action check', {
          thinPool: this.spec.thinPool,
          action: action.kind,
          problem,
        });
        return { observed, failure: { action, message: problem } };
      }
    }
    return { observed, partial };
  }

  /**
   * Runs one LVM step. Through the lvm shell of this apply, the same process then prints the step's log (its
   * error messages when it failed) or LVM's report after it, which is returned: the re-observation costs no
   * process of its own. Otherwise the step runs as its own process and `undefined` is returned.
   */
  private async runLvmStep(argv: readonly string[], signal?: AbortSignal): Promise<LvmReport | undefined> {
    const { host, log } = this.options;
    if (lvmShellLine(argv) === undefined || !(await this.useLvmShell())) {
      await host.run(argv, { signal });
      return undefined;
    }
    const fresh = this.shellSession === undefined;
    const session = (this.shellSession ??= new LvmShellSession());
    let answer: Awaited<ReturnType<typeof runLvmShell>>;
    try {
      // The step alone: a question it asks is answered "no" by the session, never by a line meant for later.
      answer = await runLvmShell(host, [argv], { signal, session });
    } catch (err) {
      if (!(err instanceof LvmShellUnavailable)) throw err;
      // A shell that answered before and then went silent may have run part of the step: no second try.
      if (!fresh) throw err.error;
      log.warn('Stopped using the lvm shell', { thinPool: this.spec.thinPool, err: err.message });
      this.lvmShell = Promise.resolve(false);
      await host.run(argv, { signal });
      return undefined;
    }
    const [command] = answer.results;
    if (!command) {
      // Whether it ran is unknown: fail the step; the observation after a failure tells what happened.
      this.lvmShell = Promise.resolve(false);
      throw new CommandError({
        argv,
        exitCode: undefined,
        stderr: answer.stderr.trim(),
        cause: 'no answer from the lvm shell',
      });
    }
    if (command.exitCode !== 0) {
      const lastlog = await runLvmShell(host, [LASTLOG], { signal, session }).catch(() => undefined);
      const stderr = [...command.messages, ...(lastlog?.results[0]?.messages ?? []), answer.stderr.trim()];
      throw new CommandError({
        argv,
        exitCode: command.exitCode,
        stderr: [...new Set(stderr)].filter((m) => m !== '').join('\n'),
      });
    }
    const after = await runLvmShell(host, [fullReportArgv()], { signal, session });
    const [report] = after.results;
    if (report?.exitCode !== 0) return undefined;
    try {
      return parseFullReport(report.stdout);
    } catch {
      // The step is done; its re-observation then runs as its own `lvm fullreport`.
      return undefined;
    }
  }

  /** Decides once per engine whether LVM steps use the lvm shell: its profile must make it answer in JSON. */
  private useLvmShell(): Promise<boolean> {
    this.lvmShell ??=
      this.options.lvmShell !== true
        ? Promise.resolve(false)
        : this.options.host.readFile(LVM_SHELL_PROFILE_PATH).then(isUsableShellProfile, () => false);
    return this.lvmShell;
  }

  /**
   * Re-observes after a step: an LVM step only changes what `lvm fullreport` shows and a profile write only
   * the profile, so those refresh just that part (one LVM report, already read when the step ran through the
   * lvm shell); other steps take a whole snapshot.
   */
  private async reobserve(
    action: Action,
    previous: Observed,
    lvmAfter: LvmReport | undefined,
    signal?: AbortSignal,
  ): Promise<Observed> {
    if (action.kind === 'write-profile') {
      return { ...previous, profileContent: await this.options.host.readFile(this.spec.profilePath) };
    }
    if (LVM_ONLY.has(action.kind)) {
      const next = { ...previous, lvm: lvmAfter ?? (await observeLvm(this.options.host, signal)) };
      this.remember(next);
      return next;
    }
    return this.observe(signal);
  }

  private recordExtension(action: Action): void {
    const ext = action.extension!;
    this.memory.lastExtension = {
      time: this.now().toISOString(),
      kind: ext.kind,
      fromBytes: ext.fromBytes,
      toBytes: ext.toBytes,
      trigger: ext.trigger,
    };
    const key = `${ext.kind}/${ext.trigger}`;
    this.memory.extensions.set(key, (this.memory.extensions.get(key) ?? 0) + 1);
  }

  /** Keeps what later runs use from an observation: the usage sample and which devices are our PVs. */
  private remember(observed: Observed): void {
    const ours = new Set(observed.lvm.pvs.filter((p) => p.vgName === this.spec.vg).map((p) => p.name));
    this.knownPvs = new Set(observed.devices.filter((d) => ours.has(d.resolved)).map((d) => d.path));
    const lv = poolView(observed.lvm, this.spec.vg, this.spec.pool, this.spec.metadataLv).poolLv;
    if (!lv || lv.segtype !== 'thin-pool' || !lv.active) return;
    const n = poolNumbers(lv);
    this.memory.samples = addSample(this.memory.samples, {
      timeMs: this.now().getTime(),
      dataUsedBytes: n.dataUsedBytes,
      dataSizeBytes: n.dataSizeBytes,
      metadataUsedBytes: n.metadataUsedBytes,
      metadataSizeBytes: n.metadataSizeBytes,
    });
  }
}

/** Checks the observable effect of an action; returns what is wrong, or `undefined`. Pure. */
export function verify(spec: AgentSpec, action: Action, observed: Observed): string | undefined {
  const view = poolView(observed.lvm, spec.vg, spec.pool, spec.metadataLv);
  const pool = view.poolLv;
  switch (action.kind) {
    case 'create-vg':
    case 'extend-vg':
      return view.vg ? undefined : `Volume group ${spec.vg} does not exist after ${renderStep(action.step)}`;
    case 'convert-to-thin-pool':
      return pool?.segtype === 'thin-pool'
        ? undefined
        : `${spec.vg}/${spec.pool} is not a thin pool after conversion`;
    case 'activate-pool':
      return pool?.active ? undefined : `Thin pool ${spec.vg}/${spec.pool} is not active after activation`;
    case 'attach-profile':
      return pool?.profile === spec.profileName
        ? undefined
        : `Profile ${spec.profileName} is not attached to ${spec.vg}/${spec.pool}`;
    case 'write-profile':
      return observed.profileContent === (action.step.type === 'write-file' ? action.step.content : undefined)
        ? undefined
        : `Profile ${spec.profilePath} does not read back as written`;
    case 'extend-data':
      return pool && pool.sizeBytes >= action.extension!.toBytes
        ? undefined
        : `Thin pool data did not reach ${action.extension!.toBytes} bytes`;
    case 'extend-metadata':
      return pool && (pool.metadataSizeBytes ?? 0) >= action.extension!.toBytes
        ? undefined
        : `Thin pool metadata did not reach ${action.extension!.toBytes} bytes`;
    default:
      return undefined;
  }
}
