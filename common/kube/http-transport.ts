import http from 'node:http';
import https from 'node:https';
import { KubeApiError, parseJson, type StatusBody } from './errors.js';
import {
  requestTarget,
  type KubeRequest,
  type KubeResponse,
  type KubeTransport,
  type Query,
  type WatchDoneCallback,
  type WatchEventCallback,
} from './transport.js';

/** Supplies the bearer token of each request (re-read when it rotates, see `fileTokenSource`). */
export interface TokenSource {
  /** The current token, or undefined for none. */
  token(): Promise<string | undefined>;
  /** The server answered 401: the next {@link token} must not come from a cache. */
  invalidate?(): void;
}

/** Settings of an {@link HttpTransport}: a server and how to authenticate to it. */
export interface HttpTransportOptions {
  /** `https://host:port` or `http://host:port` (a path prefix is kept). */
  server: string;
  /** PEM certificates trusted for the server (default: Node's bundled roots). */
  ca?: string | Buffer;
  /** Skip the server certificate check (a kubeconfig's `insecure-skip-tls-verify`). */
  insecureSkipTlsVerify?: boolean;
  /** Name checked against the server certificate instead of the URL's host. */
  tlsServerName?: string;
  /** PEM client certificate and key. */
  clientCertificate?: string | Buffer;
  clientKey?: string | Buffer;
  /** Bearer token. */
  tokenSource?: TokenSource;
  /** HTTP basic authentication (a kubeconfig's `username` and `password`). */
  basicAuth?: { username: string; password: string };
  /** A request without an answer for this long fails (default 60 s; watches are exempt). */
  requestTimeoutMs?: number;
  /** `User-Agent` header (default `thinpool-agent`). */
  userAgent?: string;
}

/** How long TCP keep-alive waits before probing an idle watch connection (as client-node's watch does). */
const WATCH_KEEPALIVE_MS = 30_000;

/**
 * A {@link KubeTransport} on `node:http` / `node:https` with one keep-alive agent: the light client of the
 * in-cluster agent (about 60 MiB less resident memory than client-node, which loads every generated model).
 */
export class HttpTransport implements KubeTransport {
  readonly server: string;
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly requestTimeoutMs: number;

  constructor(private readonly options: HttpTransportOptions) {
    let base: URL;
    try {
      base = new URL(options.server);
    } catch {
      throw new Error(`API server URL "${options.server}" is not a valid URL`);
    }
    if (base.protocol !== 'https:' && base.protocol !== 'http:') {
      throw new Error(`API server URL "${options.server}" must start with https:// or http://`);
    }
    this.base = base;
    this.server = options.server;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
    this.agent =
      base.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            ca: options.ca,
            cert: options.clientCertificate,
            key: options.clientKey,
            rejectUnauthorized: !options.insecureSkipTlsVerify,
            servername: options.tlsServerName,
          })
        : new http.Agent({ keepAlive: true });
  }

  async request(request: KubeRequest): Promise<KubeResponse> {
    const headers: http.OutgoingHttpHeaders = await this.headers();
    headers.Accept = 'application/json';
    if (request.body !== undefined) {
      headers['Content-Type'] = request.contentType ?? 'application/json';
      headers['Content-Length'] = Buffer.byteLength(request.body);
    }
    const target = requestTarget(request.path, request.query);
    return new Promise((resolve, reject) => {
      const req = this.send(request.method, target, headers, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          if (res.statusCode === 401) this.options.tokenSource?.invalidate?.();
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: flatHeaders(res.headers),
          });
        });
      });
      req.setTimeout(this.requestTimeoutMs, () =>
        req.destroy(
          new Error(`${request.method} ${request.path} got no answer within ${this.requestTimeoutMs} ms`),
        ),
      );
      req.on('error', reject);
      req.end(request.body);
    });
  }

  async watch(
    path: string,
    query: Query,
    onEvent: WatchEventCallback,
    done: WatchDoneCallback,
  ): Promise<AbortController> {
    const controller = new AbortController();
    let finished = false;
    const finish = (err: unknown): void => {
      if (finished) return;
      finished = true;
      controller.abort();
      done(err);
    };
    let headers: http.OutgoingHttpHeaders;
    try {
      headers = await this.headers();
    } catch (err) {
      finish(err);
      return controller;
    }
    headers.Accept = 'application/json';
    const target = requestTarget(path, { ...query, watch: true });
    const req = this.send('GET', target, headers, (res) => {
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', finish);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status === 401) this.options.tokenSource?.invalidate?.();
          const body = (parseJson(text) ?? {}) as StatusBody;
          finish(new KubeApiError('GET', `${path} (watch)`, status, body, text, flatHeaders(res.headers)));
        });
        return;
      }
      let pending = '';
      const deliver = (line: string): void => {
        if (finished || line.trim() === '') return;
        let event: { type?: unknown; object?: unknown };
        try {
          event = JSON.parse(line) as { type?: unknown; object?: unknown };
        } catch {
          return; // As client-node's watch: a line that is not JSON is skipped.
        }
        onEvent(String(event.type), event.object, event);
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        pending += chunk;
        let newline: number;
        while ((newline = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          deliver(line);
        }
      });
      res.on('end', () => {
        deliver(pending);
        finish(null);
      });
      res.on('error', finish);
      res.on('close', () => finish(null));
    });
    req.on('socket', (socket) => socket.setKeepAlive(true, WATCH_KEEPALIVE_MS));
    req.on('error', finish);
    controller.signal.addEventListener('abort', () => req.destroy(), { once: true });
    req.end();
    return controller;
  }

  close(): void {
    this.agent.destroy();
  }

  private send(
    method: string,
    target: string,
    headers: http.OutgoingHttpHeaders,
    onResponse: (res: http.IncomingMessage) => void,
  ): http.ClientRequest {
    const basePath = this.base.pathname.replace(/\/$/, '');
    const options: https.RequestOptions = {
      protocol: this.base.protocol,
      hostname: this.base.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: this.base.port || undefined,
      path: basePath + target,
      method,
      headers,
      agent: this.agent,
    };
    return (this.base.protocol === 'https:' ? https : http).request(options, onResponse);
  }

  private async headers(): Promise<http.OutgoingHttpHeaders> {
    const headers: http.OutgoingHttpHeaders = { 'User-Agent': this.options.userAgent ?? 'thinpool-agent' };
    const token = await this.options.tokenSource?.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    else if (this.options.basicAuth) {
      const { username, password } = this.options.basicAuth;
      headers.Authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    }
    return headers;
  }
}

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
