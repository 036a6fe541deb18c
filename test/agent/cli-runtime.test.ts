import { describe, expect, it } from '@jest/globals';
import winston from 'winston';
import { stringify } from 'yaml';
import { USAGE } from '../../node-agent/cli/args.js';
import { ExitCode, runCli } from '../../node-agent/cli/cli.js';
import { renderRunTable, renderStatusTable } from '../../node-agent/cli/render.js';
import {
  combineExitCodes,
  renderRuntimeTable,
  runtimeExitCode,
  runtimeOutcomeLine,
  summarizeRuntime,
  withRuntimeStatus,
  type RuntimeRun,
} from '../../node-agent/cli/runtime.js';
import type { Host } from '../../node-agent/host/host.js';
import {
  runtimeIntentFromSpec,
  runtimeReport,
  type RuntimeAction,
  type RuntimeObserved,
  type RuntimePlan,
  type RuntimeSpecSource,
  type SwitchResult,
} from '../../node-agent/runtime/index.js';

const silent = winston.createLogger({ silent: true });
const source: RuntimeSpecSource = {
  volumeGroup: 'dock-vg',
  thinPoolName: 'thinpool',
  runtime: { type: 'docker', docker: { overrideUdevSyncCheck: true } },
};

const launch: RuntimeAction = {
  kind: 'run',
  argv: ['setsid', '-f', '/bin/sh', '/var/lib/thinpool-agent/runtime/runtime-switch.sh', '--mode', 'switch'],
  explanation: 'Switch Docker to pool dock--vg-thinpool in a host-side one-shot (setsid)',
  steps: ['Stop Docker (init script)', 'Start Docker (init script)'],
};
const stage: RuntimeAction = {
  kind: 'write-file',
  path: '/var/lib/thinpool-agent/runtime/docker.next',
  content: '{}\n',
  explanation: 'Stage the new /etc/docker/daemon.json',
};

function switchResult(state: SwitchResult['state'], message: string): SwitchResult {
  return {
    id: 'abc123',
    attempt: 1,
    runtime: 'docker',
    state,
    pid: 42,
    started: '2026-11-23T17:00:00Z',
    updated: '2026-11-23T17:00:31Z',
    step: state === 'succeeded' ? 'verified' : 'rolled-back',
    moved: true,
    configured: true,
    verified: state === 'succeeded' ? 'devicemapper dock--vg-thinpool' : '',
    message,
  };
}

function observed(last?: SwitchResult): RuntimeObserved {
  return {
    docker: {
      installed: true,
      config: { exists: false },
      info: { reachable: false, error: 'not running' },
      dataRoot: '/var/lib/docker',
      dataRootExists: true,
      dataRootIsMountPoint: false,
      dataRootBackupExists: false,
    },
    containerd: { installed: true, config: { exists: false }, plugins: { reachable: false, error: 'down' } },
    init: { systemd: false, dockerInitScript: true, containerdInitScript: false },
    ...(last ? { lastSwitch: { result: last, alive: false } } : {}),
  };
}

/** A runtime run whose final plan is `plan`, after `applied` ran. */
function run(plan: RuntimePlan, applied: RuntimeAction[] = [], last?: SwitchResult): RuntimeRun {
  const report = runtimeReport(runtimeIntentFromSpec(source), plan, false);
  return {
    result: { plan, appliedActions: applied, observed: observed(last), report },
    applied,
  };
}

const configured: RuntimePlan = {
  outcome: { kind: 'configured', verified: 'storage driver devicemapper, pool dock--vg-thinpool' },
  actions: [],
};

describe('the runtime part of thinpool-agent apply', () => {
  it('reports a verified switch with the steps that ran, and exits 0', () => {
    const summary = summarizeRuntime({
      source,
      command: 'apply',
      dryRun: false,
      run: run(configured, [stage, launch], switchResult('succeeded', 'verified')),
    });
    expect(summary).toMatchObject({
      type: 'docker',
      pool: 'dock--vg-thinpool',
      outcome: 'configured',
      configured: true,
      condition: { type: 'RuntimeConfigured', status: 'True', reason: 'Configured' },
      executed: [
        'write-file /var/lib/thinpool-agent/runtime/docker.next',
        'setsid -f /bin/sh /var/lib/thinpool-agent/runtime/runtime-switch.sh --mode switch',
      ],
      lastSwitch: { state: 'succeeded' },
    });
    expect(summary.plan.map((s) => s.command)).toEqual(summary.executed);
    expect(runtimeExitCode(summary, false)).toBe(ExitCode.Done);
    const table = renderRuntimeTable(summary, false, 'apply');
    expect(table).toContain('Docker on pool dock--vg-thinpool: 2 steps run');
    expect(table).toContain('       - Stop Docker (init script)');
    expect(table).toContain(
      'Configured Docker on pool dock--vg-thinpool. Verified: storage driver devicemapper, pool dock--vg-thinpool.',
    );
  });

  it('says when there was nothing to do', () => {
    const summary = summarizeRuntime({ source, command: 'apply', dryRun: false, run: run(configured) });
    expect(summary.executed).toEqual([]);
    expect(runtimeOutcomeLine(summary, false)).toBe(
      'Docker already uses pool dock--vg-thinpool: no changes. Verified: storage driver devicemapper, pool dock--vg-thinpool.',
    );
  });

  it('exits 1 for a switch that was rolled back, and says so', () => {
    const message = 'failed to start daemon: devmapper: Unknown option dm.no_such_option';
    const failed: RuntimePlan = {
      outcome: { kind: 'failed', switchId: 'abc123', state: 'rolled-back', message },
      actions: [],
    };
    const summary = summarizeRuntime({
      source,
      command: 'apply',
      dryRun: false,
      run: run(failed, [launch], switchResult('rolled-back', message)),
    });
    expect(summary.condition).toMatchObject({ status: 'False', reason: 'RolledBack' });
    expect(runtimeExitCode(summary, false)).toBe(ExitCode.Failed);
    expect(runtimeOutcomeLine(summary, false)).toBe(
      `Failed: the Docker switch was rolled back; the previous configuration and data are in place again: ${message}`,
    );
  });

  it('exits 3 for a refusal and prints the reason', () => {
    const refused: RuntimePlan = {
      outcome: {
        kind: 'refused',
        reason: 'MalformedDaemonJson',
        message: '/etc/docker/daemon.json is not valid JSON: left untouched',
      },
      actions: [],
    };
    const summary = summarizeRuntime({ source, command: 'apply', dryRun: false, run: run(refused) });
    expect(runtimeExitCode(summary, false)).toBe(ExitCode.Refused);
    expect(runtimeExitCode(summary, true)).toBe(ExitCode.Refused);
    expect(runtimeOutcomeLine(summary, false)).toBe(
      'Refused: Docker was not changed: MalformedDaemonJson: /etc/docker/daemon.json is not valid JSON: left untouched',
    );
  });

  it('prints the planned steps in a dry run and exits 0; an apply that ends still unswitched exits 1', () => {
    const planned: RuntimePlan = {
      outcome: { kind: 'switch', switchId: 'abc123', attempt: 1, message: 'Switching Docker to pool x' },
      actions: [stage, launch],
    };
    const dry = summarizeRuntime({ source, command: 'apply', dryRun: true, run: run(planned) });
    expect(dry.plan.map((s) => s.command)).toEqual([
      'write-file /var/lib/thinpool-agent/runtime/docker.next',
      'setsid -f /bin/sh /var/lib/thinpool-agent/runtime/runtime-switch.sh --mode switch',
    ]);
    expect(dry.executed).toEqual([]);
    expect(dry.condition.reason).toBe('SwitchPlanned');
    expect(runtimeExitCode(dry, true)).toBe(ExitCode.Done);
    expect(renderRuntimeTable(dry, true, 'apply')).toContain(
      'Docker on pool dock--vg-thinpool: 2 steps planned',
    );
    const stuck = summarizeRuntime({ source, command: 'apply', dryRun: false, run: run(planned, [launch]) });
    expect(runtimeExitCode(stuck, false)).toBe(ExitCode.Failed);
  });

  it('waits for the pool: no runtime step while the pool is not ready, and the pool decides the exit code', () => {
    const summary = summarizeRuntime({
      source,
      command: 'apply',
      dryRun: false,
      run: { poolNotReady: true },
    });
    expect(summary).toMatchObject({
      outcome: 'pool-not-ready',
      configured: false,
      plan: [],
      condition: { reason: 'PoolNotReady' },
    });
    const code = runtimeExitCode(summary, false);
    expect(combineExitCodes(ExitCode.Refused, code, summary)).toBe(ExitCode.Refused);
    expect(combineExitCodes(ExitCode.Failed, code, summary)).toBe(ExitCode.Failed);
    expect(combineExitCodes(ExitCode.Done, code, summary)).toBe(ExitCode.Failed);
  });

  it('lets a runtime failure win over a pool refusal, and a refusal over success', () => {
    const rolledBack = summarizeRuntime({
      source,
      command: 'apply',
      dryRun: false,
      run: run({
        outcome: { kind: 'failed', switchId: 'a', state: 'rolled-back', message: 'x' },
        actions: [],
      }),
    });
    expect(combineExitCodes(ExitCode.Refused, 1, rolledBack)).toBe(ExitCode.Failed);
    const ok = summarizeRuntime({ source, command: 'apply', dryRun: false, run: run(configured) });
    expect(combineExitCodes(ExitCode.Refused, 0, ok)).toBe(ExitCode.Refused);
    expect(combineExitCodes(ExitCode.Done, 3, ok)).toBe(ExitCode.Refused);
  });

  it('reports a runtime step that could not run, with its error', () => {
    const error = 'Command failed with exit code 1: setsid -f /bin/sh ...: setsid: not found';
    const summary = summarizeRuntime({ source, command: 'apply', dryRun: false, run: { error } });
    expect(summary.condition).toMatchObject({ status: 'False', reason: 'RuntimeFailed', message: error });
    expect(runtimeExitCode(summary, false)).toBe(ExitCode.Failed);
    expect(runtimeOutcomeLine(summary, false)).toBe(`Failed: Docker was not configured: ${error}`);
  });
});

describe('the runtime in status', () => {
  it('says what apply would do instead of "planned"', () => {
    const planned: RuntimePlan = {
      outcome: {
        kind: 'switch',
        switchId: 'abc123',
        attempt: 1,
        message: 'Switching Docker to pool x (switch abc123)',
      },
      actions: [stage, launch],
    };
    const summary = summarizeRuntime({ source, command: 'status', dryRun: false, run: run(planned) });
    expect(summary.condition).toEqual({
      type: 'RuntimeConfigured',
      status: 'False',
      reason: 'NotConfigured',
      message:
        'Switching Docker to pool x (switch abc123) is needed: thinpool-agent apply runs it (apply --dry-run shows its steps)',
    });
  });

  it('puts the condition and status.runtime into the node status, and the steps into a planned status', () => {
    const now = new Date('2026-11-23T17:00:00Z');
    const summary = summarizeRuntime({ source, command: 'apply', dryRun: false, run: run(configured) });
    const status = withRuntimeStatus({ phase: 'Ready', conditions: [] }, summary, false, now);
    expect(status.runtime).toEqual({
      type: 'docker',
      configured: true,
      message: 'Verified: storage driver devicemapper, pool dock--vg-thinpool',
    });
    expect(status.conditions).toEqual([
      {
        type: 'RuntimeConfigured',
        status: 'True',
        reason: 'Configured',
        message: 'Verified: storage driver devicemapper, pool dock--vg-thinpool',
        lastTransitionTime: now.toISOString(),
      },
    ]);
    expect(status.plan).toBeUndefined();
    const table = renderStatusTable('docker', 'n1', status);
    expect(table).toContain('  runtime        docker, configured');
    expect(table).toContain('  RuntimeConfigured True Configured: Verified: storage driver devicemapper');

    const planned = summarizeRuntime({
      source,
      command: 'apply',
      dryRun: true,
      run: run({ outcome: { kind: 'switch', switchId: 'a', attempt: 1, message: 'm' }, actions: [launch] }),
    });
    expect(
      withRuntimeStatus({ plan: ['lvchange --monitor y docker/thinpool'] }, planned, true, now).plan,
    ).toEqual([
      'lvchange --monitor y docker/thinpool',
      'setsid -f /bin/sh /var/lib/thinpool-agent/runtime/runtime-switch.sh --mode switch',
    ]);
  });
});

describe('the run table', () => {
  it('prints the runtime after the pool, and nothing of it without a runtime', () => {
    const base = {
      thinPool: 'docker',
      node: 'n1',
      command: 'apply' as const,
      dryRun: false,
      outcome: 'no-changes' as const,
      plan: [],
      planComplete: true,
      executed: [],
      findings: [],
      status: { phase: 'Ready' as const },
    };
    expect(renderRunTable(base)).toBe(
      'Plan for ThinPool docker on node n1: 0 step(s)\nNo changes.\n\nThinPool docker on node n1: Ready\n  pool           absent',
    );
    const runtime = summarizeRuntime({ source, command: 'apply', dryRun: false, run: run(configured) });
    expect(renderRunTable({ ...base, runtime })).toMatch(
      /No changes\.\n\nDocker already uses pool dock--vg-thinpool: no changes\./,
    );
  });
});

describe('runCli with a runtime', () => {
  const untouchable = (): Host => {
    throw new Error('the host must not be touched');
  };

  it('exits 2 for a runtime value the host could not take, before touching the host', async () => {
    const yaml = stringify({
      apiVersion: 'thinpool.dev/v1alpha1',
      kind: 'ThinPool',
      metadata: { name: 'ctrd' },
      spec: {
        volumeGroup: 'ctrd',
        devices: [{ path: '/dev/vdb' }],
        runtime: { type: 'containerd', containerd: { baseImageSize: '1.5Gi' } },
      },
    });
    const err: string[] = [];
    const code = await runCli(['apply', '-f', 'x.yaml'], {
      host: untouchable,
      log: silent,
      stdout: () => undefined,
      stderr: (t) => err.push(t),
      readManifest: async () => yaml,
    });
    expect(code).toBe(ExitCode.BadInput);
    expect(err.join('')).toMatch(
      /Invalid ThinPool in x\.yaml:\nruntime: containerd\.baseImageSize: Invalid size "1\.5Gi"/,
    );
  });

  it('names the run command in the usage', () => {
    expect(USAGE).toMatch(/^ {2}thinpool-agent run \[flags\] .*thinpool-agent run --help/m);
  });
});
