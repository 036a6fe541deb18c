import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One route: returns status, content type and body. */
export type Route = () => Promise<{ status: number; contentType: string; body: string }>;

/** A running HTTP endpoint. */
export interface RunningHttpServer {
  /** The port it listens on (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * Serves GET routes (`/metrics`, `/healthz`, `/readyz`) on one address; anything else is 404, any other
 * method 405.
 */
export async function startHttpServer(
  host: string,
  port: number,
  routes: Record<string, Route>,
): Promise<RunningHttpServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = routes[path];
    if (!route) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'GET, HEAD' }).end('method not allowed\n');
      return;
    }
    route().then(
      ({ status, contentType, body }) => res.writeHead(status, { 'Content-Type': contentType }).end(body),
      (err: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${String(err)}\n`),
    );
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host || undefined, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
