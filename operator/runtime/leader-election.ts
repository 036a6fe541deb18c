import type { Logger } from '../../common/logger.js';
import { sleep, systemClock, type Clock } from '../../common/kube/clock.js';
import { describeError, isConflict, isNotFound, type KubeClient } from '../../common/kube/kube-client.js';

/** `coordination.k8s.io/v1` Lease as JSON. */
export interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: LeaseSpec;
}

/** The leader election record a Lease carries. */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** Timings of leader election; the defaults are client-go's (and controller-runtime's). */
export interface LeaderElectionTimings {
  /** How long a non-leader waits after last seeing the record change before taking over (15 s). */
  leaseDurationMs: number;
  /** How long the leader keeps retrying a renewal before it gives up leadership (10 s). */
  renewDeadlineMs: number;
  /** Interval between attempts to acquire or renew (2 s). */
  retryPeriodMs: number;
}

/** client-go's default timings: 15 s / 10 s / 2 s. */
export const DEFAULT_LEADER_ELECTION_TIMINGS: LeaderElectionTimings = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/** client-go's `JitterFactor` for the acquire loop. */
const JITTER_FACTOR = 1.2;

/** Checks client-go's constraints on the timings; returns the problems found. */
export function validateTimings(t: LeaderElectionTimings): string[] {
  const problems: string[] = [];
  if (t.leaseDurationMs <= t.renewDeadlineMs)
    problems.push('leaseDuration must be greater than renewDeadline');
  if (t.renewDeadlineMs <= JITTER_FACTOR * t.retryPeriodMs) {
    problems.push('renewDeadline must be greater than retryPeriod*JitterFactor (1.2)');
  }
  if (t.leaseDurationMs < 1000) problems.push('leaseDuration must be at least 1s');
  if (t.retryPeriodMs <= 0) problems.push('retryPeriod must be positive');
  return problems;
}

/** Formats a time as a `metav1.MicroTime` (RFC 3339 with microseconds). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * The record to write when `identity` acquires or renews (client-go `tryAcquireOrRenew`, step 4): a leader
 * keeps its acquire time and transition count, a new holder bumps the transitions.
 */
export function nextLeaseSpec(
  current: LeaseSpec | undefined,
  identity: string,
  nowMs: number,
  leaseDurationMs: number,
): LeaseSpec {
  const renewing = current?.holderIdentity === identity;
  return {
    holderIdentity: identity,
    leaseDurationSeconds: Math.max(1, Math.round(leaseDurationMs / 1000)),
    acquireTime: renewing && current?.acquireTime ? current.acquireTime : microTime(nowMs),
    renewTime: microTime(nowMs),
    leaseTransitions: renewing
      ? (current?.leaseTransitions ?? 0)
      : (current?.leaseTransitions ?? 0) + (current ? 1 : 0),
  };
}

/**
 * True when another holder's lease is still valid from our point of view. As in client-go, expiry is
 * measured from when *we* last saw the record change (`observedAtMs`, our clock), never from the remote
 * `renewTime`, so clock skew between replicas does not matter.
 */
export function heldByOther(
  record: LeaseSpec | undefined,
  identity: string,
  observedAtMs: number,
  nowMs: number,
  leaseDurationMs: number,
): boolean {
  const holder = record?.holderIdentity;
  if (!holder || holder === identity) return false;
  return observedAtMs + leaseDurationMs > nowMs;
}

/** Options of a {@link LeaderElector}. */
export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  /** Unique per replica (client-go uses hostname + UUID). */
  identity: string;
  timings?: LeaderElectionTimings;
  clock?: Clock;
  logger?: Logger;
  /** Called once when this replica becomes the leader. */
  onStartedLeading(): void;
  /** Called once when this replica stops being the leader (lost the lease, or released it). */
  onStoppedLeading(reason: 'lost' | 'released'): void;
  /** Called when the observed holder changes (including to ourselves). */
  onNewLeader?(identity: string): void;
}

/**
 * Leader election on a `coordination.k8s.io/v1` Lease with client-go's algorithm: acquire by
 * compare-and-swap once the holder's lease has expired by our own clock, renew every `retryPeriod`, give up
 * leadership when a renewal has not succeeded within `renewDeadline`, and release the Lease (empty holder,
 * 1 s duration) on a graceful stop so a standby takes over at once.
 */
export class LeaderElector {
  private readonly clock: Clock;
  private readonly timings: LeaderElectionTimings;
  private observed?: LeaseSpec;
  private observedRaw = '';
  private observedAtMs = 0;
  private lease?: Lease;
  private leading = false;
  private lastReportedLeader = '';

  constructor(private readonly options: LeaderElectorOptions) {
    this.clock = options.clock ?? systemClock;
    this.timings = options.timings ?? DEFAULT_LEADER_ELECTION_TIMINGS;
    const problems = validateTimings(this.timings);
    if (problems.length > 0) throw new Error(`Invalid leader election timings: ${problems.join('; ')}`);
  }

  /** True while this replica holds the lease. */
  get isLeader(): boolean {
    return this.leading;
  }

  /** The holder we last observed. */
  get observedLeader(): string | undefined {
    return this.observed?.holderIdentity || undefined;
  }

  /**
   * Campaigns until elected, then renews until the lease is lost or `signal` aborts. On abort while leading
   * it releases the lease. Resolves when it is no longer leading.
   */
  async run(signal: AbortSignal): Promise<'lost' | 'released' | 'stopped'> {
    const { retryPeriodMs, renewDeadlineMs } = this.timings;
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew()) break;
      await sleep(this.clock, retryPeriodMs * (1 + Math.random() * (JITTER_FACTOR - 1)), signal);
    }
    if (signal.aborted) return 'stopped';
    this.leading = true;
    this.options.logger?.info('Acquired leader Lease', this.leaseFields());
    this.options.onStartedLeading();

    let lastRenewMs = this.clock.now();
    while (!signal.aborted) {
      await sleep(this.clock, retryPeriodMs, signal);
      if (signal.aborted) break;
      if (await this.tryAcquireOrRenew()) {
        lastRenewMs = this.clock.now();
        continue;
      }
      // Lost to another holder (seen in the record), or could not renew within the deadline.
      if (!this.isLeaderByRecord() || this.clock.now() - lastRenewMs >= renewDeadlineMs) {
        this.leading = false;
        this.options.logger?.error('Lost leader Lease', this.leaseFields());
        this.options.onStoppedLeading('lost');
        return 'lost';
      }
    }
    await this.release();
    this.leading = false;
    this.options.onStoppedLeading('released');
    return 'released';
  }

  /** One step of client-go's `tryAcquireOrRenew`; true when we hold the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { leaseDurationMs } = this.timings;
    const now = this.clock.now();
    // Fast path: the leader renews optimistically against the record it wrote last.
    if (this.lease && this.isLeaderByRecord() && this.observedAtMs + leaseDurationMs > now) {
      if (await this.update(nextLeaseSpec(this.observed, this.options.identity, now, leaseDurationMs)))
        return true;
    }
    let current: Lease;
    try {
      current = await this.options.client.get<Lease>(this.path());
    } catch (err) {
      if (!isNotFound(err)) {
        this.options.logger?.warn('Failed to read leader Lease', {
          ...this.leaseFields(),
          err: describeError(err),
        });
        return false;
      }
      return this.create(nextLeaseSpec(undefined, this.options.identity, now, leaseDurationMs));
    }
    this.lease = current;
    const raw = JSON.stringify(current.spec ?? {});
    if (raw !== this.observedRaw) this.observe(current.spec ?? {}, raw);
    if (heldByOther(this.observed, this.options.identity, this.observedAtMs, now, leaseDurationMs))
      return false;
    return this.update(nextLeaseSpec(current.spec, this.options.identity, now, leaseDurationMs));
  }

  private async create(spec: LeaseSpec): Promise<boolean> {
    const { namespace, name } = this.options;
    try {
      this.lease = await this.options.client.create<Lease>(this.collectionPath(), {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec,
      });
      this.observe(spec, JSON.stringify(spec));
      return true;
    } catch (err) {
      // Losing the race to another replica is routine; anything else (RBAC, a missing namespace) is not.
      this.options.logger?.[isConflict(err) ? 'debug' : 'warn']('Failed to create leader Lease', {
        ...this.leaseFields(),
        err: describeError(err),
      });
      return false;
    }
  }

  private async update(spec: LeaseSpec): Promise<boolean> {
    if (!this.lease) return false;
    try {
      this.lease = await this.options.client.replace<Lease>(this.path(), { ...this.lease, spec });
      this.observe(spec, JSON.stringify(spec));
      return true;
    } catch (err) {
      this.options.logger?.[isConflict(err) ? 'debug' : 'warn']('Failed to update leader Lease', {
        ...this.leaseFields(),
        err: describeError(err),
      });
      return false;
    }
  }

  private async release(): Promise<void> {
    if (!this.isLeaderByRecord() || !this.lease) return;
    const now = this.clock.now();
    const spec: LeaseSpec = {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: this.observed?.leaseTransitions ?? 0,
    };
    if (await this.update(spec)) this.options.logger?.info('Released leader Lease', this.leaseFields());
    else this.options.logger?.warn('Failed to release leader Lease', this.leaseFields());
  }

  private observe(spec: LeaseSpec, raw: string): void {
    this.observed = spec;
    this.observedRaw = raw;
    this.observedAtMs = this.clock.now();
    const holder = spec.holderIdentity ?? '';
    if (holder && holder !== this.lastReportedLeader) {
      this.lastReportedLeader = holder;
      this.options.onNewLeader?.(holder);
    }
  }

  private isLeaderByRecord(): boolean {
    return this.observed?.holderIdentity === this.options.identity;
  }

  private leaseFields(): Record<string, string> {
    return { lease: `${this.options.namespace}/${this.options.name}`, identity: this.options.identity };
  }

  private collectionPath(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.options.namespace)}/leases`;
  }

  private path(): string {
    return `${this.collectionPath()}/${encodeURIComponent(this.options.name)}`;
  }
}
