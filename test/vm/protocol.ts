/**
 * The JSON-lines protocol between the host and the guest agent (test/vm/guest-agent.mjs), also spoken
 * between broker clients and the broker (test/vm/broker.ts), which adds the broker-only operations.
 * Every request carries a numeric `id`; every request gets exactly one final reply with the same `id`;
 * a streamed `run` also sends `output` events with that `id` before its reply.
 */

/** Runs a program in the guest (argument array, never a shell string). */
export interface RunRequest {
  op: 'run';
  argv: readonly string[];
  input?: string;
  env?: Readonly<Record<string, string>>;
  cwd?: string;
  timeoutMs?: number;
  /** Send output as `output` events while the command runs, instead of in the reply. */
  stream?: boolean;
  /**
   * Keep stdin open after `input` (if any) is written, for later `input` requests: a command session's
   * process (`RunOptions.session`). Closed by an `input` request with `end`, or when the command is killed.
   */
  keepStdin?: boolean;
}

/** Asks the guest to stop a running command (SIGTERM to its process group, SIGKILL 5 s later). */
export interface KillRequest {
  op: 'kill';
  /** The `id` of the run request to stop. */
  target: number;
}

/**
 * Writes to a running `keepStdin` command's stdin, then closes it when `end`. Replied `{ id, ok: true }`
 * even when the target is gone (like `kill`): a session learns about its process's end from the run's reply.
 */
export interface InputRequest {
  op: 'input';
  /** The `id` of the run request whose stdin this writes. */
  target: number;
  data?: string;
  end?: boolean;
}

export interface ReadFileRequest {
  op: 'readFile';
  path: string;
}

export interface WriteFileRequest {
  op: 'writeFile';
  path: string;
  content: string;
  mode?: number;
}

export interface StatRequest {
  op: 'stat';
  path: string;
}

export interface PingRequest {
  op: 'ping';
}

/** Powers the guest off (the agent exits; the init syncs and powers off). */
export interface ShutdownRequest {
  op: 'shutdown';
}

/** Broker only: describes the VM (disks, kernel, directories). */
export interface InfoRequest {
  op: 'info';
}

/** Broker only: waits for the exclusive lease that serialises test files sharing the VM. */
export interface AcquireRequest {
  op: 'acquire';
}

/** Broker only: gives the lease back. */
export interface ReleaseRequest {
  op: 'release';
}

/** Operations the guest agent understands. */
export type GuestOperation =
  | RunRequest
  | KillRequest
  | InputRequest
  | ReadFileRequest
  | WriteFileRequest
  | StatRequest
  | PingRequest
  | ShutdownRequest;

/** Operations a broker client may send. */
export type BrokerOperation = GuestOperation | InfoRequest | AcquireRequest | ReleaseRequest;

/** A request on the wire. */
export type Request<Op = BrokerOperation> = Op & { id: number };

/** An error as the guest saw it (an fs error's fields, or a harness error code such as `EVMGONE`). */
export interface WireError {
  code?: string;
  message: string;
  syscall?: string;
  path?: string;
}

/** The reply to a `run` request. */
export interface RunReply {
  id: number;
  ok: true;
  /** `null` when the command did not exit by itself. */
  exitCode: number | null;
  signal: string | null;
  /** Why the command did not finish normally: "timeout", "aborted", "not found", ... */
  reason?: string;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Output of a streamed run. */
export interface OutputEvent {
  id: number;
  event: 'output';
  fd: 1 | 2;
  /** The bytes, base64. */
  data: string;
}

/** A failed request. */
export interface ErrorReply {
  id: number;
  ok: false;
  error: WireError;
}

/** One virtio disk as the guest sees it. */
export interface GuestDisk {
  serial: string;
  devicePath: string;
  sizeBytes: number;
}

/** The guest agent's first message. */
export interface ReadyEvent {
  event: 'ready';
  kernel: string;
  disks: GuestDisk[];
  uptimeSec: number;
}

/** One virtio disk of the VM. */
export interface VmDisk {
  /** The name given at boot (`--disk NAME:SIZE`), also the qemu serial. */
  name: string;
  sizeBytes: number;
  /** The kernel's name for it, for example `/dev/vdb`. */
  devicePath: string;
  /** `/dev/disk/by-id/virtio-<name>`, a link the guest init creates (there is no udev in the guest). */
  byIdPath: string;
}

/** What the broker's `info` operation returns. */
export interface VmInfo {
  kernel: string;
  disks: VmDisk[];
  /** The repo, shared read-write at the same path; commands run here. */
  repoDir: string;
  /** Shared read-write at the same path: files written here in the guest stay on the host. */
  resultsDir: string;
  /** A guest directory (in guest RAM) that reset() empties. */
  scratchDir: string;
  /** Milliseconds from starting qemu to the guest agent's "ready". */
  bootMs: number;
  /** The guest's uptime at the agent's "ready", in milliseconds (kernel, init and node start-up). */
  guestUptimeAtReadyMs: number;
}

/** A successful reply; its other fields depend on the operation. */
export interface OkReply {
  id: number;
  ok: true;
  [field: string]: unknown;
}

/** Anything sent to the host side. */
export type ReplyMessage = RunReply | OkReply | ErrorReply | OutputEvent;

/** The error code of replies to requests that were pending when the guest went away. */
export const GUEST_GONE = 'EVMGONE';

/**
 * Returns a function that takes chunks of a JSON-lines stream and calls `onMessage` for every complete
 * line; lines that are not JSON go to `onGarbage` (the guest's console noise must never break the channel).
 */
export function createLineParser(
  onMessage: (message: unknown) => void,
  onGarbage: (line: string) => void = () => {},
): (chunk: string) => void {
  let pending = '';
  return (chunk: string) => {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (!line.trim()) continue;
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        onGarbage(line);
        continue;
      }
      onMessage(message);
    }
  };
}

/** Encodes one message as a JSON line. */
export function encodeMessage(message: unknown): string {
  return `${JSON.stringify(message)}\n`;
}
