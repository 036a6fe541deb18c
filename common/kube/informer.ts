import type { Logger } from '../logger.js';
import { Backoff, type BackoffPolicy } from './backoff.js';
import { sleep, systemClock, type Clock, type TimerHandle } from './clock.js';
import type { KubeTransport } from './transport.js';
import { describeError, httpStatusOf, type KubeClient } from './kube-client.js';
import { objectKey, type KubeObject } from './kube-object.js';

/** Handlers an informer calls; `update` gets the previous object too (the same object on a resync). */
export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(obj: T, old: T): void;
  delete?(obj: T): void;
}

/** What a watch stream did when it ended. */
type WatchOutcome = 'closed' | 'gone' | 'silent' | 'relist' | 'stopped';

/** Options of an {@link Informer}. */
export interface InformerOptions<T extends KubeObject> {
  /** Kind name for logs ("Node", "ThinPool"). */
  kind: string;
  client: KubeClient;
  /** Collection path, e.g. `/api/v1/nodes` or `/apis/apps/v1/namespaces/x/daemonsets`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Shrinks each object before it is cached (drop what the controller never reads, to save memory). */
  transform?: (obj: T) => T;
  /** Items per list page (default 500). */
  pageSize?: number;
  /** A full re-list this often, as a safety net against lost events (default 30 min, 0 disables). */
  relistPeriodMs?: number;
  /** Re-deliver every cached object as an update this often, without any API call (default 0, off). */
  resyncPeriodMs?: number;
  /** Server-side watch timeout, picked at random in this range per watch (default 300..600 s). */
  watchTimeoutSeconds?: readonly [number, number];
  /**
   * A watch that delivers nothing (not even a bookmark) for this long after its server-side timeout should
   * have closed it is considered dead and restarted (default 60 s of grace).
   */
  silenceGraceMs?: number;
  /** Backoff between failed attempts (default 500 ms doubling to 30 s, 20 % jitter). */
  backoff?: BackoffPolicy;
  clock?: Clock;
  logger?: Logger;
  /** Watch implementation (default: the client's transport). */
  watch?: Pick<KubeTransport, 'watch'>;
}

/** Counters of an informer's API usage, for logs and benchmarks. */
export interface InformerStats {
  lists: number;
  listPages: number;
  watches: number;
  errors: number;
  relistsAfterGone: number;
  silentRestarts: number;
}

const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };

/**
 * A list-and-watch cache of one resource over the client's transport, built to never give up:
 * - it lists (paged), then watches from the list's resourceVersion with bookmarks and a server timeout;
 * - a watch that closes is resumed from the last resourceVersion; `410 Gone` (HTTP or in-stream) re-lists;
 * - any other error (HTTP 5xx, connection refused, a bad stream) restarts it after a capped backoff;
 * - a watch that stays silent past its timeout is torn down and resumed (half-open connections);
 * - it re-lists every `relistPeriodMs`, and can re-deliver its cache every `resyncPeriodMs`.
 * Handlers see `add` / `update` / `delete`; a re-list diffs against the cache, so nothing is lost or doubled.
 */
export class Informer<T extends KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly indexes = new Map<string, { fn: (obj: T) => string[]; map: Map<string, Set<string>> }>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly clock: Clock;
  private readonly backoff: Backoff;
  private readonly watchImpl: Pick<KubeTransport, 'watch'>;
  private readonly stopController = new AbortController();
  private resourceVersion = '';
  private lastListAt = 0;
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private running?: Promise<void>;
  private resyncTimer?: TimerHandle;
  private forcedRelist = false;
  private abortCurrentWatch?: (outcome: WatchOutcome) => void;
  /** API usage counters. */
  readonly stats: InformerStats = {
    lists: 0,
    listPages: 0,
    watches: 0,
    errors: 0,
    relistsAfterGone: 0,
    silentRestarts: 0,
  };

  constructor(private readonly options: InformerOptions<T>) {
    this.clock = options.clock ?? systemClock;
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF);
    this.watchImpl = options.watch ?? options.client.transport;
  }

  /** Registers event handlers (before {@link start}, so the initial list is delivered too). */
  on(handlers: InformerHandlers<T>): void {
    this.handlers.push(handlers);
  }

  /** Adds a secondary index: `fn` returns the index values of an object. */
  addIndex(name: string, fn: (obj: T) => string[]): void {
    const map = new Map<string, Set<string>>();
    for (const [key, obj] of this.store) addToIndex(map, fn(obj), key);
    this.indexes.set(name, { fn, map });
  }

  /** Starts listing and watching in the background. */
  start(): void {
    if (this.running) return;
    this.running = this.run();
    if (this.options.resyncPeriodMs) this.scheduleResync(this.options.resyncPeriodMs);
  }

  /** Stops watching; resolves when the background loop has ended. Handlers are not called any more. */
  async stop(): Promise<void> {
    this.stopController.abort();
    this.resyncTimer?.cancel();
    this.abortCurrentWatch?.('stopped');
    for (const resolve of this.syncWaiters.splice(0)) resolve();
    await this.running;
  }

  /** True once the first list has been delivered. */
  get hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves when the first list has been delivered (or the informer stopped). */
  waitForSync(): Promise<void> {
    if (this.synced || this.stopController.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** Ends the current watch and re-lists everything now (a full resync). */
  relist(): void {
    this.forcedRelist = true;
    this.abortCurrentWatch?.('relist');
  }

  /** The cached object, by name (and namespace for namespaced kinds). */
  get(name: string, namespace?: string): T | undefined {
    return this.store.get(namespace ? `${namespace}/${name}` : name);
  }

  /** Every cached object. */
  list(): T[] {
    return [...this.store.values()];
  }

  /** Number of cached objects. */
  get size(): number {
    return this.store.size;
  }

  /** Cached objects whose index `name` contains `value`. */
  byIndex(name: string, value: string): T[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`Informer for ${this.options.kind} has no index ${name}`);
    const keys = index.map.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const key of keys) {
      const obj = this.store.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  /** The resourceVersion the next watch resumes from ('' = re-list first). */
  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  private async run(): Promise<void> {
    const signal = this.stopController.signal;
    while (!signal.aborted) {
      try {
        if (this.resourceVersion === '' || this.forcedRelist) await this.listAll();
        if (signal.aborted) break;
        if (this.forcedRelist) continue;
        const startedAt = this.clock.now();
        const { outcome, events } = await this.watchOnce();
        if (outcome === 'stopped') break;
        if (outcome === 'gone') {
          this.stats.relistsAfterGone++;
          this.options.logger?.info(`Re-listing ${this.options.kind} objects after 410 Gone`, {
            kind: this.options.kind,
          });
          this.resourceVersion = '';
        }
        if (outcome === 'relist') this.forcedRelist = true;
        if (outcome === 'silent') {
          this.stats.silentRestarts++;
          this.options.logger?.warn(`Restarted silent ${this.options.kind} watch`, {
            kind: this.options.kind,
          });
        }
        // A stream that closes at once with nothing in it must not turn into a hot loop.
        if (events > 0 || this.clock.now() - startedAt >= 10_000 || outcome !== 'closed')
          this.backoff.reset();
        else await sleep(this.clock, this.backoff.next(), signal);
      } catch (err) {
        if (signal.aborted) break;
        this.stats.errors++;
        const delay = this.backoff.next();
        this.options.logger?.warn(`Restarting ${this.options.kind} informer after error`, {
          kind: this.options.kind,
          err: describeError(err),
          code: httpStatusOf(err),
          retryInMs: Math.round(delay),
        });
        await sleep(this.clock, delay, signal);
      }
    }
  }

  private async listAll(): Promise<void> {
    const pageSize = this.options.pageSize ?? 500;
    const started = performance.now();
    const pagesBefore = this.stats.listPages;
    const items: T[] = [];
    let resourceVersion: string;
    let token: string | undefined;
    this.forcedRelist = false;
    do {
      const page = await this.options.client.list<T>(this.options.path, {
        limit: pageSize,
        continue: token,
        labelSelector: this.options.labelSelector,
        fieldSelector: this.options.fieldSelector,
      });
      this.stats.listPages++;
      for (const item of page.items) items.push(item);
      resourceVersion = page.metadata.resourceVersion ?? '';
      token = page.metadata.continue || undefined;
      if (this.stopController.signal.aborted) return;
    } while (token);
    this.stats.lists++;
    this.replaceAll(items);
    this.options.logger?.info(`Listed ${this.options.kind} objects`, {
      kind: this.options.kind,
      count: items.length,
      pages: this.stats.listPages - pagesBefore,
      durationMs: Math.round(performance.now() - started),
    });
    this.resourceVersion = resourceVersion;
    this.lastListAt = this.clock.now();
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  private watchOnce(): Promise<{ outcome: WatchOutcome; events: number }> {
    const [minTimeout, maxTimeout] = this.options.watchTimeoutSeconds ?? [300, 600];
    const timeoutSeconds = Math.round(minTimeout + Math.random() * (maxTimeout - minTimeout));
    const silenceMs = timeoutSeconds * 1000 + (this.options.silenceGraceMs ?? 60_000);
    const relistPeriod = this.options.relistPeriodMs ?? 30 * 60_000;
    this.stats.watches++;
    return new Promise((resolve, reject) => {
      let finished = false;
      let events = 0;
      let controller: AbortController | undefined;
      let silenceTimer: TimerHandle | undefined;
      let relistTimer: TimerHandle | undefined;
      const finish = (settle: () => void): void => {
        if (finished) return;
        finished = true;
        silenceTimer?.cancel();
        relistTimer?.cancel();
        this.abortCurrentWatch = undefined;
        controller?.abort();
        settle();
      };
      const end = (outcome: WatchOutcome) => finish(() => resolve({ outcome, events }));
      const armSilenceTimer = (): void => {
        silenceTimer?.cancel();
        silenceTimer = this.clock.schedule(silenceMs, () => end('silent'));
      };
      this.abortCurrentWatch = end;
      armSilenceTimer();
      if (relistPeriod > 0) {
        const due = Math.max(
          0,
          this.lastListAt + relistPeriod * (0.9 + Math.random() * 0.2) - this.clock.now(),
        );
        relistTimer = this.clock.schedule(due, () => end('relist'));
      }
      const onEvent = (type: string, obj: unknown): void => {
        if (finished) return;
        events++;
        armSilenceTimer();
        if (type === 'ERROR') {
          const status = obj as { code?: number; message?: string };
          if (status.code === 410) end('gone');
          else
            finish(() =>
              reject(new Error(`Watch of ${this.options.kind} failed: ${status.message ?? 'error'}`)),
            );
          return;
        }
        const object = obj as T;
        if (type === 'ADDED' || type === 'MODIFIED') this.upsert(object);
        else if (type === 'DELETED') this.remove(object);
        const rv = object?.metadata?.resourceVersion;
        if (rv) this.resourceVersion = rv;
      };
      const onDone = (err: unknown): void => {
        if (!err) end('closed');
        else if (httpStatusOf(err) === 410) end('gone');
        else finish(() => reject(err));
      };
      this.watchImpl
        .watch(
          this.options.path,
          {
            resourceVersion: this.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds,
            labelSelector: this.options.labelSelector,
            fieldSelector: this.options.fieldSelector,
          },
          onEvent,
          onDone,
        )
        .then(
          (c) => {
            controller = c;
            if (finished) c.abort();
          },
          (err: unknown) => finish(() => reject(err)),
        );
    });
  }

  private replaceAll(items: T[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      seen.add(objectKey(item));
      this.upsert(item);
    }
    for (const [key, obj] of [...this.store]) {
      if (!seen.has(key)) this.remove(obj);
    }
  }

  private upsert(raw: T): void {
    const key = objectKey(raw);
    const old = this.store.get(key);
    if (old && old.metadata.resourceVersion === raw.metadata.resourceVersion) return;
    const obj = this.options.transform ? this.options.transform(raw) : raw;
    this.store.set(key, obj);
    for (const index of this.indexes.values()) {
      if (old) removeFromIndex(index.map, index.fn(old), key);
      addToIndex(index.map, index.fn(obj), key);
    }
    this.dispatch((h) => (old ? h.update?.(obj, old) : h.add?.(obj)));
  }

  private remove(raw: T): void {
    const key = objectKey(raw);
    const old = this.store.get(key);
    if (!old) return;
    this.store.delete(key);
    for (const index of this.indexes.values()) removeFromIndex(index.map, index.fn(old), key);
    this.dispatch((h) => h.delete?.(old));
  }

  private scheduleResync(periodMs: number): void {
    this.resyncTimer = this.clock.schedule(periodMs, () => {
      if (this.stopController.signal.aborted) return;
      for (const obj of this.store.values()) this.dispatch((h) => h.update?.(obj, obj));
      this.scheduleResync(periodMs);
    });
  }

  private dispatch(call: (handlers: InformerHandlers<T>) => void): void {
    if (this.stopController.signal.aborted) return;
    for (const handlers of this.handlers) {
      try {
        call(handlers);
      } catch (err) {
        this.options.logger?.error(`Failed to handle ${this.options.kind} event`, {
          kind: this.options.kind,
          err: describeError(err),
        });
      }
    }
  }
}

function addToIndex(map: Map<string, Set<string>>, values: string[], key: string): void {
  for (const value of values) {
    let keys = map.get(value);
    if (!keys) map.set(value, (keys = new Set()));
    keys.add(key);
  }
}

function removeFromIndex(map: Map<string, Set<string>>, values: string[], key: string): void {
  for (const value of values) {
    const keys = map.get(value);
    if (!keys) continue;
    keys.delete(key);
    if (keys.size === 0) map.delete(value);
  }
}
