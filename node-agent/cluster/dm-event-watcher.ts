import type { Logger } from '../../common/logger.js';
import { CommandError, type Host } from '../host/host.js';
import type { Observed } from '../observe/observed.js';
import { poolView } from '../observe/observed.js';
import type { AgentSpec } from '../agent-spec.js';
import { dmPoolName } from '../runtime/dm-name.js';

/**
 * The device-mapper device that carries the pool's `thin-pool` target, from one observation (pure): LVM
 * names it `<vg>-<pool>-tpool` once thin volumes exist (the `<vg>-<pool>` device is then a linear layer on
 * top), and `<vg>-<pool>` before. `undefined` when the pool is not an active thin pool.
 */
export function thinPoolTargetDevice(spec: AgentSpec, observed: Observed): string | undefined {
  const view = poolView(observed.lvm, spec.vg, spec.pool, spec.metadataLv);
  if (view.poolLv?.segtype !== 'thin-pool' || !view.poolLv.active) return undefined;
  const name = dmPoolName(spec.vg, spec.pool);
  return view.thinLvs.length > 0 ? `${name}-tpool` : name;
}

/** Parses `dmsetup info -c --noheadings -o events <device>`: the device's event counter. */
export function parseEventCounter(stdout: string): number | undefined {
  const text = stdout.trim();
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

/** Options of {@link DmEventWatcher}. */
export interface DmEventWatcherOptions {
  host: Host;
  log: Logger;
  /** Called when the device raised an event (the pool passed its low-water mark, ran out of space, ...). */
  onEvent: (device: string) => void;
  /** Longest single `dmsetup wait` before it is started again (default 10 min). */
  waitTimeoutMs?: number;
  /** Pause after a failed wait (the device went away, dmsetup failed), doubling up to 30 s. Default 1 s. */
  retryMs?: number;
}

/**
 * Waits on the pool's device-mapper events with `dmsetup wait <device> <event_nr>`, so the agent reacts to
 * a pool that passes its low-water mark (the `thin_pool_autoextend_threshold` of the LVM profile) at once,
 * as dmeventd does, instead of at its next interval. The agent tells it the device after each observation;
 * a changed device restarts the wait.
 */
export class DmEventWatcher {
  private device?: string;
  private waitAbort?: AbortController;
  private loop?: Promise<void>;
  private stopped = false;
  private wake?: () => void;

  constructor(private readonly options: DmEventWatcherOptions) {}

  /** Sets the device to watch (`undefined`: none, e.g. the pool is inactive). */
  watch(device: string | undefined): void {
    if (this.stopped || device === this.device) return;
    this.device = device;
    this.waitAbort?.abort();
    this.wake?.();
    this.loop ??= this.run();
  }

  /** Stops watching; resolves when no `dmsetup wait` runs any more. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.waitAbort?.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { host, log } = this.options;
    let retryMs = this.options.retryMs ?? 1000;
    while (!this.stopped) {
      const device = this.device;
      if (!device) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      const abort = new AbortController();
      this.waitAbort = abort;
      try {
        const info = await host.run(['dmsetup', 'info', '-c', '--noheadings', '-o', 'events', device], {
          signal: abort.signal,
        });
        const counter = parseEventCounter(info.stdout);
        if (counter === undefined) throw new Error(`dmsetup info printed no event counter for ${device}`);
        await host.run(['dmsetup', 'wait', device, String(counter)], {
          signal: abort.signal,
          timeoutMs: this.options.waitTimeoutMs ?? 10 * 60_000,
        });
        retryMs = this.options.retryMs ?? 1000;
        if (!abort.signal.aborted && device === this.device) {
          log.debug('Received device-mapper event of thin pool', { device });
          this.options.onEvent(device);
        }
      } catch (err) {
        if (abort.signal.aborted || this.stopped) continue;
        const timedOut = err instanceof CommandError && err.reason === 'timeout';
        if (timedOut) continue;
        log.debug('Failed to wait for device-mapper event of thin pool', {
          device,
          err: err instanceof Error ? err.message : String(err),
        });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, retryMs);
          timer.unref();
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        retryMs = Math.min(retryMs * 2, 30_000);
      }
    }
  }
}
