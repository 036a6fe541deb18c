/**
 * The broker: the only user of the guest agent's single channel. It listens on a host unix socket and
 * multiplexes JSON-line requests from any number of clients (jest workers, agent or operator processes
 * spawned by tests) onto the channel, rewriting request ids so replies go back to the right client.
 * It also answers `info` and hands out an exclusive lease that serialises test files sharing the VM.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import {
  GUEST_GONE,
  createLineParser,
  encodeMessage,
  type BrokerOperation,
  type ErrorReply,
  type Request,
  type VmInfo,
} from './protocol.js';

/** A guest agent connection: the VM's virtio-serial channel, or a local agent process in unit tests. */
export interface GuestChannel {
  send(message: unknown): void;
  onMessage(handler: (message: unknown) => void): void;
  /** Resolves with a one-line reason when the guest is gone. */
  readonly gone: Promise<string>;
}

interface Client {
  socket: net.Socket;
  /**
   * Client request id to guest request id, for the client's commands still running (to kill them, or
   * write to their stdin).
   */
  runs: Map<number, number>;
}

interface PendingRequest {
  /** Undefined for the broker's own requests, whose replies are dropped. */
  client?: Client;
  clientId: number;
}

function errorReply(id: number, code: string, message: string): ErrorReply {
  return { id, ok: false, error: { code, message } };
}

/** Multiplexes clients of a unix socket onto one guest channel. */
export class Broker {
  private readonly server = net.createServer((socket) => this.accept(socket));
  private readonly clients = new Set<Client>();
  private readonly pending = new Map<number, PendingRequest>();
  private nextGuestId = 1;
  private leaseHolder?: Client;
  private readonly leaseQueue: { client: Client; id: number }[] = [];
  private goneReason?: string;

  constructor(
    private readonly guest: GuestChannel,
    private readonly info: VmInfo,
  ) {
    guest.onMessage((message) => this.fromGuest(message as { id?: number; event?: string }));
    void guest.gone.then((reason) => this.guestGone(reason));
  }

  /** Starts listening on `socketPath` (replacing a stale socket file). */
  async listen(socketPath: string): Promise<void> {
    fs.rmSync(socketPath, { force: true });
    this.server.listen(socketPath);
    await once(this.server, 'listening');
  }

  /** Disconnects every client and stops listening. */
  async close(): Promise<void> {
    for (const client of this.clients) client.socket.destroy();
    if (this.server.listening) {
      this.server.close();
      await once(this.server, 'close');
    }
  }

  /** Sends a request of the broker's own to the guest; its reply is dropped. */
  private sendOwn(operation: BrokerOperation): void {
    const id = this.nextGuestId++;
    this.pending.set(id, { clientId: 0 });
    this.guest.send({ ...operation, id });
  }

  private accept(socket: net.Socket): void {
    const client: Client = { socket, runs: new Map() };
    this.clients.add(client);
    socket.setEncoding('utf8');
    socket.on(
      'data',
      createLineParser((message) => this.fromClient(client, message as Request)),
    );
    socket.on('error', () => {});
    socket.on('close', () => this.disconnected(client));
  }

  private reply(client: Client, message: unknown): void {
    if (!client.socket.destroyed) client.socket.write(encodeMessage(message));
  }

  private fromClient(client: Client, request: Request): void {
    const { id } = request;
    if (typeof id !== 'number') return;
    switch (request.op) {
      case 'info':
        return this.reply(client, { id, ok: true, info: this.info });
      case 'acquire':
        if (!this.leaseHolder) {
          this.leaseHolder = client;
          return this.reply(client, { id, ok: true });
        }
        this.leaseQueue.push({ client, id });
        return;
      case 'release':
        if (this.leaseHolder === client) this.passLease();
        return this.reply(client, { id, ok: true });
      case 'shutdown':
        return this.reply(
          client,
          errorReply(id, 'EPERM', 'Only the process that started the VM can stop it'),
        );
    }
    if (this.goneReason)
      return this.reply(client, errorReply(id, GUEST_GONE, `The VM is gone: ${this.goneReason}`));
    const guestId = this.nextGuestId++;
    if (request.op === 'kill' || request.op === 'input') {
      // Both name one of the client's runs by the client's id; a run that is over is answered here.
      const target = client.runs.get(request.target);
      if (target === undefined) return this.reply(client, { id, ok: true });
      this.pending.set(guestId, { client, clientId: id });
      this.guest.send({ ...request, id: guestId, target });
      return;
    }
    if (request.op === 'run') client.runs.set(id, guestId);
    this.pending.set(guestId, { client, clientId: id });
    this.guest.send({ ...request, id: guestId });
  }

  private fromGuest(message: { id?: number; event?: string }): void {
    if (typeof message.id !== 'number') return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if (message.event !== 'output') {
      this.pending.delete(message.id);
      pending.client?.runs.delete(pending.clientId);
    }
    if (pending.client) this.reply(pending.client, { ...message, id: pending.clientId });
  }

  private passLease(): void {
    this.leaseHolder = undefined;
    while (this.leaseQueue.length > 0) {
      const next = this.leaseQueue.shift()!;
      if (next.client.socket.destroyed) continue;
      this.leaseHolder = next.client;
      this.reply(next.client, { id: next.id, ok: true });
      return;
    }
  }

  private disconnected(client: Client): void {
    this.clients.delete(client);
    // A client that went away (a crashed jest worker) must not leave commands running in the guest,
    // including its sessions' processes: `kill` also closes their stdin.
    if (!this.goneReason)
      for (const guestId of client.runs.values()) this.sendOwn({ op: 'kill', target: guestId });
    for (const [guestId, pending] of this.pending)
      if (pending.client === client) this.pending.delete(guestId);
    const queued = this.leaseQueue.findIndex((entry) => entry.client === client);
    if (queued >= 0) this.leaseQueue.splice(queued, 1);
    if (this.leaseHolder === client) this.passLease();
  }

  private guestGone(reason: string): void {
    this.goneReason = reason;
    for (const [guestId, pending] of this.pending) {
      this.pending.delete(guestId);
      if (pending.client)
        this.reply(pending.client, errorReply(pending.clientId, GUEST_GONE, `The VM is gone: ${reason}`));
    }
    for (const { client, id } of this.leaseQueue.splice(0)) {
      this.reply(client, errorReply(id, GUEST_GONE, `The VM is gone: ${reason}`));
    }
  }
}
