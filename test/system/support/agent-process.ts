import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is test/system/support/agent-process.ts). */
export const REPO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const LAUNCHER = path.join(REPO_DIR, 'test/system/support/agent-main.ts');
const TSX = path.join(REPO_DIR, 'node_modules/.bin/tsx');

/** One JSON log record of the agent. */
export type LogRecord = Record<string, unknown> & { message?: string; level?: string };

/** Options of {@link AgentProcess.start}. */
export interface AgentProcessOptions {
  /** Environment of the agent container (NODE_NAME, THINPOOL_NAME, ...). */
  env: Record<string, string>;
  /** Flags after `run`. */
  args: string[];
  /** The VM broker socket: the agent's node. */
  vmSocket: string;
  /** Every log line is appended here. */
  logFile: string;
  /** The program and arguments that run the launcher (default: tsx on agent-main.ts). */
  launcher?: readonly string[];
}

/**
 * One `thinpool-agent run` process (the launcher with the VM guest as its host), with its JSON logs parsed
 * as they come: the tests read the port it listens on, the commands it ran and how it stopped.
 */
export class AgentProcess {
  readonly logs: LogRecord[] = [];
  /** The port of `/metrics`, `/healthz` and `/readyz`, once the agent has started. */
  readonly port: Promise<number>;
  /** The exit code (`null` when killed by a signal). */
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private readonly log: WriteStream;
  private exitCode?: number | null;

  private constructor(options: AgentProcessOptions) {
    this.log = createWriteStream(options.logFile, { flags: 'a' });
    const [program, ...launcherArgs] = options.launcher ?? [TSX, LAUNCHER];
    this.child = spawn(program!, [...launcherArgs, 'run', ...options.args], {
      cwd: REPO_DIR,
      env: { ...process.env, LOG_LEVEL: 'info', ...options.env, THINPOOL_VM_SOCKET: options.vmSocket },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let resolvePort!: (port: number) => void;
    let rejectPort!: (err: Error) => void;
    this.port = new Promise((resolve, reject) => {
      resolvePort = resolve;
      rejectPort = reject;
    });
    this.port.catch(() => {});
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        this.log.write(`${line}\n`);
        if (!line.startsWith('{')) return;
        try {
          const record = JSON.parse(line) as LogRecord;
          this.logs.push(record);
          if (record.message === 'Started thin pool agent') resolvePort(Number(record.port));
        } catch {
          // Not a log record (tsx or node warnings): kept in the log file only.
        }
      });
    }
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.exitCode = code;
        rejectPort(new Error(`The agent exited with code ${code} before it listened`));
        this.log.end();
        resolve(code);
      });
    });
  }

  /** Starts the agent process. */
  static start(options: AgentProcessOptions): AgentProcess {
    return new AgentProcess(options);
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends a signal. */
  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM, then waits for the exit; with `killAfterMs`, SIGKILL when it has not exited by then. */
  async stop(killAfterMs?: number): Promise<number | null> {
    this.kill('SIGTERM');
    if (killAfterMs === undefined) return this.exited;
    const timer = setTimeout(() => this.kill('SIGKILL'), killAfterMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** GETs one of the agent's endpoints. */
  async get(endpoint: '/metrics' | '/healthz' | '/readyz'): Promise<{ status: number; body: string }> {
    const response = await fetch(`http://127.0.0.1:${await this.port}${endpoint}`, {
      signal: AbortSignal.timeout(5000),
    });
    return { status: response.status, body: await response.text() };
  }

  /** The command lines the agent ran that changed the host, in order (from its "Completed host command" logs). */
  completedCommands(): string[] {
    return this.logs.filter((r) => r.message === 'Completed host command').map((r) => String(r.command));
  }

  /** Every change the agent made to the host, in order: command lines and `write-file <path>` lines. */
  mutations(): string[] {
    return this.logs.flatMap((r) => {
      if (r.message === 'Completed host command') return [String(r.command)];
      if (r.message === 'Wrote host file') return [`write-file ${String(r.path)}`];
      return [];
    });
  }
}

/** The value of one series in a Prometheus text exposition (`name{labels}`), or `undefined`. */
export function metricValue(
  exposition: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).startsWith('{')
      ? line.slice(name.length + 1, line.indexOf('}'))
      : '';
    const found = Object.fromEntries(
      [...labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) {
      const value = line.slice(line.lastIndexOf(' ') + 1);
      return value === '+Inf' ? Infinity : Number(value);
    }
  }
  return undefined;
}
