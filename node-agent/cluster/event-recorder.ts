import type { Logger } from '../../common/logger.js';
import { describeError, httpStatusOf, isNotFound, type KubeClient } from '../../common/kube/kube-client.js';
import type { AgentEvent } from './run-events.js';

/** Namespace of Events about cluster-scoped objects (ThinPool, Node), as client-go does. */
export const EVENT_NAMESPACE = 'default';

/** The object an Event is about. */
export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  uid?: string;
}

/** Options of {@link BackloggedEventRecorder}. */
export interface EventRecorderOptions {
  client: KubeClient;
  /** `source.component` and `reportingComponent` (`thinpool-agent`). */
  component: string;
  /** `source.host` (the node). */
  host: string;
  /** `reportingInstance` (the agent Pod, or the node). */
  instance: string;
  log: Logger;
  now?: () => Date;
  /** Most Events held while the API server is unreachable; the oldest are dropped beyond. Default 256. */
  maxBacklog?: number;
}

interface Pending {
  key: string;
  target: EventTarget;
  event: AgentEvent;
  /** Occurrences not yet delivered. */
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
}

interface Delivered {
  name: string;
  count: number;
}

/** Result of one {@link BackloggedEventRecorder.flush}. */
export interface FlushResult {
  delivered: number;
  /** Events still held (the API server failed or is unreachable). */
  remaining: number;
  /** Set when the API server could not be reached or answered with a server error. */
  error?: string;
}

/** Most distinct delivered Events remembered for count bumps. */
const MAX_REMEMBERED = 512;

function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** True for errors worth retrying: no answer, a server error, throttling or a timeout. */
export function isTransient(err: unknown): boolean {
  const code = httpStatusOf(err);
  return code === undefined || code >= 500 || code === 429 || code === 408;
}

/**
 * Records `core/v1` Events without ever blocking the agent: {@link record} only queues, {@link flush}
 * delivers. The same (object, type, reason, message) again bumps `count` and `lastTimestamp` of the Event
 * already delivered (one PATCH), like client-go's correlator. While the API server is unreachable the queue
 * is the backlog: repeats coalesce into one entry, the original times are kept, and everything is delivered
 * in order when the server answers again.
 */
export class BackloggedEventRecorder {
  private readonly queue: Pending[] = [];
  private readonly delivered = new Map<string, Delivered>();
  private readonly now: () => Date;
  private flushing?: Promise<FlushResult>;
  private sequence = 0;
  /** Events dropped because the backlog was full. */
  dropped = 0;

  constructor(private readonly options: EventRecorderOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Queues one Event about each of `targets`. */
  record(targets: readonly EventTarget[], event: AgentEvent): void {
    const at = timestamp(this.now());
    for (const target of targets) {
      const key = [target.kind, target.uid ?? target.name, event.type, event.reason, event.message].join(
        '\u0000',
      );
      const queued = this.queue.find((p) => p.key === key);
      if (queued) {
        queued.count++;
        queued.lastTimestamp = at;
        continue;
      }
      this.queue.push({ key, target, event, count: 1, firstTimestamp: at, lastTimestamp: at });
      if (this.queue.length > (this.options.maxBacklog ?? 256)) {
        this.queue.shift();
        this.dropped++;
      }
    }
  }

  /** Events waiting to be delivered. */
  get backlog(): number {
    return this.queue.length;
  }

  /** Delivers the queue in order; stops at the first transient failure and keeps the rest. */
  flush(): Promise<FlushResult> {
    this.flushing ??= this.deliver().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async deliver(): Promise<FlushResult> {
    let delivered = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      try {
        await this.send(next);
        delivered++;
      } catch (err) {
        if (isTransient(err)) return { delivered, remaining: this.queue.length, error: describeError(err) };
        this.options.log.warn('Dropped Event the API server refused', {
          kind: next.target.kind,
          name: next.target.name,
          reason: next.event.reason,
          err: describeError(err),
        });
      }
      this.queue.shift();
    }
    return { delivered, remaining: 0 };
  }

  private async send(pending: Pending): Promise<void> {
    const { client } = this.options;
    const known = this.delivered.get(pending.key);
    if (known) {
      try {
        await client.patch(this.path(known.name), {
          count: known.count + pending.count,
          lastTimestamp: pending.lastTimestamp,
        });
        known.count += pending.count;
        this.remember(pending.key, known);
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.delivered.delete(pending.key);
      }
    }
    const name = `${pending.target.name}.${(Date.now() * 1000 + (this.sequence++ % 1000)).toString(16)}`;
    const { component, host, instance } = this.options;
    await client.create(`/api/v1/namespaces/${EVENT_NAMESPACE}/events`, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: EVENT_NAMESPACE },
      involvedObject: {
        apiVersion: pending.target.apiVersion,
        kind: pending.target.kind,
        name: pending.target.name,
        ...(pending.target.uid ? { uid: pending.target.uid } : {}),
      },
      type: pending.event.type,
      reason: pending.event.reason,
      message: pending.event.message.slice(0, 1024),
      count: pending.count,
      firstTimestamp: pending.firstTimestamp,
      lastTimestamp: pending.lastTimestamp,
      source: { component, host },
      reportingComponent: component,
      reportingInstance: instance,
    });
    this.remember(pending.key, { name, count: pending.count });
  }

  private remember(key: string, value: Delivered): void {
    this.delivered.delete(key);
    this.delivered.set(key, value);
    if (this.delivered.size > MAX_REMEMBERED) {
      const oldest = this.delivered.keys().next().value;
      if (oldest !== undefined) this.delivered.delete(oldest);
    }
  }

  private path(name: string): string {
    return `/api/v1/namespaces/${EVENT_NAMESPACE}/events/${encodeURIComponent(name)}`;
  }
}
