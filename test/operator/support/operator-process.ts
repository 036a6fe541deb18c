import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** One JSON log line of the operator. */
export type LogLine = Record<string, unknown> & { message: string; level: string };

/** A `thinpool-operator` process started from `operator/main.ts` (through tsx), with its parsed logs. */
export class OperatorProcess {
  readonly logs: LogLine[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private stderrTail = '';

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'operator/main.ts'), ...args], {
      cwd: REPO,
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.consume(chunk));
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.consume(chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  private consume(chunk: string): void {
    const text = this.stderrTail + chunk;
    const lines = text.split('\n');
    this.stderrTail = lines.pop() ?? '';
    for (const line of lines) {
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.logs.push({ message: line, level: 'raw' });
      }
    }
  }

  /** The first log line with this message, if any. */
  find(message: string): LogLine | undefined {
    return this.logs.find((l) => l.message === message);
  }

  /** Port of the HTTP server that serves `path`. */
  portFor(pathName: string): number | undefined {
    const line = this.logs.find(
      (l) => l.message === 'Started HTTP server' && (l.paths as string[]).includes(pathName),
    );
    return line?.port as number | undefined;
  }

  /** The replica identity it logged at start. */
  get identity(): string | undefined {
    return this.find('Started operator')?.identity as string | undefined;
  }

  /** GETs a path on its own HTTP servers. */
  async get(pathName: string): Promise<{ status: number; body: string }> {
    const port = this.portFor(pathName);
    if (!port) throw new Error(`No server for ${pathName} yet`);
    const response = await fetch(`http://127.0.0.1:${port}${pathName}`);
    return { status: response.status, body: await response.text() };
  }

  /** Sends a signal (only to this child). */
  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }
}
