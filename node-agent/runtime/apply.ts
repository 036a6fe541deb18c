/**
 * Runs a runtime plan through the `Host` port (file writes, then the command that starts the host-side
 * one-shot), and waits for a switch's result when the caller wants to (the standalone CLI does; the
 * in-cluster agent reads the result on a later reconcile instead, since the switch may restart its pod).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { formatArgv, type Host } from '../host/host.js';
import type { Logger } from '../../common/logger.js';
import { parseSwitchResult } from './parsers.js';
import { runtimeStatePaths } from './plan.js';
import type { RuntimeAction, RuntimeHostOptions, RuntimeKind, SwitchResult } from './types.js';

/** One line per action, as Plan mode shows it (the engine's format): the command line, or `write-file <path>`. */
export function describeRuntimeAction(action: RuntimeAction): string {
  return action.kind === 'run' ? formatArgv(action.argv) : `write-file ${action.path}`;
}

/** Executes the actions in order and stops at the first failure (the error carries the command line). */
export async function applyRuntimeActions(
  host: Host,
  actions: readonly RuntimeAction[],
  logger: Logger,
): Promise<void> {
  for (const action of actions) {
    const line = describeRuntimeAction(action);
    logger.info('Running runtime action', { action: line, explanation: action.explanation });
    if (action.kind === 'write-file') {
      await host.writeFile(
        action.path,
        action.content,
        action.mode !== undefined ? { mode: action.mode } : {},
      );
    } else {
      await host.run(action.argv);
    }
    logger.info('Ran runtime action', { action: line });
  }
}

/** Options of {@link waitForSwitch}. */
export interface WaitForSwitchOptions {
  /** Give up after this long (default: the one-shot's own timeouts for stop, start and rollback, plus a margin). */
  timeoutMs?: number;
  /** Poll interval (default 500 ms). */
  pollMs?: number;
  signal?: AbortSignal;
}

/**
 * Waits until the result file of `runtime` carries attempt `attempt` of switch `id` in a final state
 * (anything but `running`), and returns it; also returns a `running` result whose process is gone
 * (interrupted: the next plan recovers it). Rejects on timeout with the last state seen.
 */
export async function waitForSwitch(
  host: Host,
  runtime: RuntimeKind,
  id: string,
  attempt: number,
  options: RuntimeHostOptions,
  wait: WaitForSwitchOptions = {},
): Promise<SwitchResult> {
  const path = runtimeStatePaths(options.stateDir, runtime).result;
  const timeoutMs = wait.timeoutMs ?? (options.restartTimeoutSeconds * 4 + 60) * 1000;
  const deadline = Date.now() + timeoutMs;
  let last: SwitchResult | undefined;
  for (;;) {
    const text = await host.readFile(path);
    last = text === undefined ? undefined : parseSwitchResult(text);
    if (last && last.id === id && last.attempt === attempt) {
      if (last.state !== 'running') return last;
      const probe = await host.run(['test', '-d', `/proc/${last.pid}`], { okExitCodes: [0, 1] });
      if (probe.exitCode !== 0) return last;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Runtime switch ${id} (attempt ${attempt}) did not finish within ${Math.round(timeoutMs / 1000)} s (last state: ${last ? `${last.state}, step ${last.step}` : 'no result'}); see ${path}`,
      );
    }
    await sleep(wait.pollMs ?? 500, undefined, wait.signal ? { signal: wait.signal } : {});
  }
}
