/**
 * One open watch: a chunked HTTP response that receives the store's change events for one resource type,
 * filtered by namespace and selectors the way kube-apiserver's cacher does (an object that stops matching
 * arrives as DELETED, one that starts matching as ADDED), with bookmarks and a timeout.
 */
import type { ServerResponse } from 'node:http';
import { apiVersionOf, type KubeObject, type ResourceType } from './resources.js';
import type { FieldSelector, LabelSelector } from './selectors.js';
import type { StatusBody } from './status.js';
import type { ChangeEvent, ClusterStore, WatchSink } from './store.js';
import { buildTable, type IncludeObject } from './table.js';

/** How a watch was asked for. */
export interface WatchOptions {
  namespace?: string;
  labelSelector: LabelSelector;
  fieldSelector: FieldSelector;
  allowBookmarks: boolean;
  sendInitialEvents: boolean;
  timeoutMs: number;
  bookmarkIntervalMs: number;
  /** Serve each event's object as a one-row Table (kubectl get --watch). */
  table?: IncludeObject;
}

/** The bookmark annotation that ends the initial events of a watch-list (`sendInitialEvents=true`). */
export const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

/** An open watch stream. */
export class WatchStream implements WatchSink {
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private sentColumns = false;
  /** Events delivered on this stream (for the request log and tests of the emulator). */
  delivered = 0;

  constructor(
    private readonly store: ClusterStore,
    readonly rt: ResourceType,
    private readonly res: ServerResponse,
    private readonly options: WatchOptions,
    private readonly onClose: (stream: WatchStream) => void,
  ) {
    res.on('close', () => this.close());
  }

  /** Writes the headers and the initial events, then arms bookmarks and the timeout. */
  start(initial: ChangeEvent[]): void {
    this.res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    for (const event of initial) this.onEvent(event);
    if (this.options.sendInitialEvents && this.options.allowBookmarks)
      this.bookmark({ [INITIAL_EVENTS_END]: 'true' });
    const { timeoutMs, bookmarkIntervalMs, allowBookmarks } = this.options;
    if (allowBookmarks) {
      this.timers.push(setInterval(() => this.bookmark(), bookmarkIntervalMs));
      // kube-apiserver also sends one bookmark shortly before the watch times out.
      if (timeoutMs > 2000) this.timers.push(setTimeout(() => this.bookmark(), timeoutMs - 2000));
    }
    this.timers.push(setTimeout(() => this.close(), timeoutMs));
    this.res.flushHeaders();
  }

  private matches(obj: KubeObject): boolean {
    return this.store.matches(
      this.rt,
      obj,
      this.options.namespace,
      this.options.labelSelector,
      this.options.fieldSelector,
    );
  }

  /** Delivers one change if it concerns this watch. */
  onEvent(event: ChangeEvent): void {
    if (this.closed) return;
    let type: ChangeEvent['type'] | undefined;
    if (event.type === 'DELETED') {
      if (this.matches(event.stored.obj)) type = 'DELETED';
    } else {
      const now = this.matches(event.stored.obj);
      const before = event.type === 'MODIFIED' && event.prev !== undefined && this.matches(event.prev.obj);
      if (now) type = before ? 'MODIFIED' : 'ADDED';
      else if (before) type = 'DELETED';
    }
    if (!type) return;
    this.delivered++;
    if (this.options.table) {
      this.writeLine(
        JSON.stringify({
          type,
          object: this.tableOf(JSON.parse(this.store.viewJson(this.rt, event.stored)) as KubeObject),
        }),
      );
      return;
    }
    const cacheKey = `${apiVersionOf(this.rt)}|${type}`;
    event.lines ??= new Map();
    let line = event.lines.get(cacheKey);
    if (line === undefined) {
      line = `{"type":"${type}","object":${this.store.viewJson(this.rt, event.stored)}}`;
      event.lines.set(cacheKey, line);
    }
    this.writeLine(line);
  }

  private tableOf(obj: KubeObject): Record<string, unknown> {
    const table = buildTable(
      this.rt,
      [obj],
      { resourceVersion: obj.metadata.resourceVersion },
      this.options.table ?? 'Metadata',
    );
    if (this.sentColumns) table.columnDefinitions = [];
    this.sentColumns = true;
    return table;
  }

  /** Sends a BOOKMARK at the current resourceVersion. */
  bookmark(annotations?: Record<string, string>): void {
    if (this.closed) return;
    const metadata: Record<string, unknown> = {
      resourceVersion: String(this.store.resourceVersion),
      creationTimestamp: null,
    };
    if (annotations) metadata.annotations = annotations;
    this.writeLine(
      JSON.stringify({
        type: 'BOOKMARK',
        object: { kind: this.rt.kind, apiVersion: apiVersionOf(this.rt), metadata },
      }),
    );
  }

  /** Sends an ERROR event (as kube-apiserver does for a watch it cannot serve) and ends the stream. */
  fail(status: StatusBody): void {
    if (this.closed) return;
    this.writeLine(JSON.stringify({ type: 'ERROR', object: status }));
    this.close();
  }

  private writeLine(line: string): void {
    this.res.write(`${line}\n`);
  }

  /** Ends the stream cleanly (the client sees end of body and re-watches). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timers.forEach((t) => clearTimeout(t));
    this.store.unwatch(this.rt, this);
    if (!this.res.writableEnded) this.res.end();
    this.onClose(this);
  }
}
