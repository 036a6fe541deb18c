import type { Logger } from '../../common/logger.js';
import { systemClock, type Clock } from '../../common/kube/clock.js';
import { describeError, isNotFound, type KubeClient } from '../../common/kube/kube-client.js';
import type { KubeObject } from '../../common/kube/kube-object.js';
import type { EventObject } from './kube-types.js';
import { MANAGER_NAME } from './names.js';

/** Namespace of Events about cluster-scoped objects (client-go uses `default` too). */
export const CLUSTER_EVENT_NAMESPACE = 'default';

/** Most distinct Events remembered for de-duplication. */
const MAX_REMEMBERED = 2048;

/** Options of an {@link EventRecorder}. */
export interface EventRecorderOptions {
  client: KubeClient;
  /** Identity of this replica (`reportingInstance`). */
  instance: string;
  clock?: Clock;
  logger?: Logger;
}

interface Remembered {
  namespace: string;
  name: string;
  count: number;
  firstTimestamp: string;
}

/**
 * Records `core/v1` Events on objects, de-duplicated like client-go's event correlator: the same
 * (object, type, reason, message) again bumps `count` and `lastTimestamp` on the existing Event with one
 * merge patch instead of creating another Event. Recording is best effort: a failure is logged, never
 * thrown, so it cannot fail a reconcile.
 */
export class EventRecorder {
  private readonly remembered = new Map<string, Remembered>();
  private readonly clock: Clock;
  private sequence = 0;

  constructor(private readonly options: EventRecorderOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Records one Event about `object`. */
  async record(
    object: KubeObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const namespace = object.metadata.namespace || CLUSTER_EVENT_NAMESPACE;
    const key = [object.metadata.uid ?? object.metadata.name, type, reason, message].join('\u0000');
    const now = new Date(this.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const known = this.remembered.get(key);
    try {
      if (known) {
        try {
          await this.options.client.patch(this.path(known.namespace, known.name), {
            count: known.count + 1,
            lastTimestamp: now,
          });
          known.count++;
          this.touch(key, known);
          return;
        } catch (err) {
          if (!isNotFound(err)) throw err;
          this.remembered.delete(key);
        }
      }
      const name = `${object.metadata.name}.${(this.clock.now() * 1000 + (this.sequence++ % 1000)).toString(16)}`;
      const event: EventObject = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: object.apiVersion ?? '',
          kind: object.kind ?? '',
          name: object.metadata.name ?? '',
          uid: object.metadata.uid,
          ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
        },
        type,
        reason,
        message,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: MANAGER_NAME },
        reportingComponent: MANAGER_NAME,
        reportingInstance: this.options.instance,
      };
      await this.options.client.create(`/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, event);
      this.touch(key, { namespace, name, count: 1, firstTimestamp: now });
    } catch (err) {
      this.options.logger?.warn('Failed to record Event', {
        kind: object.kind,
        name: object.metadata.name,
        reason,
        err: describeError(err),
      });
    }
  }

  private touch(key: string, value: Remembered): void {
    this.remembered.delete(key);
    this.remembered.set(key, value);
    if (this.remembered.size > MAX_REMEMBERED) {
      const oldest = this.remembered.keys().next().value;
      if (oldest !== undefined) this.remembered.delete(oldest);
    }
  }

  private path(namespace: string, name: string): string {
    return `/api/v1/namespaces/${encodeURIComponent(namespace)}/events/${encodeURIComponent(name)}`;
  }
}
