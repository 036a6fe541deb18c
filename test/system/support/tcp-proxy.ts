import net from 'node:net';

/**
 * A TCP proxy in front of the API server that a test can cut: {@link cut} closes the listening socket and
 * every open connection, so clients get "connection refused" as from an API server that is down;
 * {@link restore} listens again on the same port.
 */
export class TcpProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Listens on 127.0.0.1 (a free port the first time, the same port after a cut). */
  async listen(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** The proxy's URL. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Makes the API server unreachable through the proxy. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Makes it reachable again. */
  restore(): Promise<void> {
    return this.listen();
  }

  /** Stops the proxy. */
  close(): Promise<void> {
    return this.cut();
  }
}
