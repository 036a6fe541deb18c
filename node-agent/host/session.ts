/**
 * Command sessions (`RunOptions.session`, ADR 0092): one process kept running across `run` calls, each
 * call writing to its stdin and returning the output that answers it. {@link SessionRunner} holds the
 * rules every host shares (one call at a time, answers, questions, timeouts, aborts, the end of a
 * session); a host only supplies {@link StartInteractive}, the way it starts a process with stdin open.
 */
import { CommandError, type CommandSession, type RunOptions, type RunResult } from './host.js';

/** How a host reports an interactive process's life to the {@link SessionRunner}. */
export interface InteractiveHandlers {
  /** Output, as it comes. */
  output(fd: 1 | 2, text: string): void;
  /** The process ended: its exit code, or `undefined` and why it has none ("signal SIGKILL", "not found"). */
  exit(exitCode: number | undefined, cause?: string): void;
}

/** A running process whose stdin stays open. */
export interface InteractiveProcess {
  /** Writes to its stdin. */
  write(text: string): void;
  /** Closes its stdin. */
  end(): void;
  /** Stops it: stdin closed, SIGTERM, SIGKILL a few seconds later if it is still there. */
  kill(): void;
}

/** Starts `argv` (with `LC_ALL=C` and `env`) with stdin kept open: a host's part of a session. */
export type StartInteractive = (
  argv: readonly string[],
  env: Readonly<Record<string, string>> | undefined,
  handlers: InteractiveHandlers,
) => InteractiveProcess;

/** Time a closed session's process has to exit by itself before it is killed. */
const CLOSE_GRACE_MS = 5_000;

interface Call {
  stdout: string;
  stderr: string;
  /** Length of `stderr` when the last question was answered. */
  repliedAt: number;
  finish(error?: { exitCode: number | undefined; cause: string }): void;
}

interface Live {
  process: InteractiveProcess;
  call?: Call;
  /** Stops listening for the end of the session. */
  release(): void;
}

/** Runs the calls of command sessions on the processes that `start` starts. */
export class SessionRunner {
  private readonly live = new Map<CommandSession, Live>();

  constructor(
    private readonly start: StartInteractive,
    private readonly defaultTimeoutMs: number,
  ) {}

  /** One call of `options.session` (see `CommandSession` for the contract). */
  run(argv: readonly string[], options: RunOptions & { session: CommandSession }): Promise<RunResult> {
    if (argv.length === 0 || argv[0] === '')
      return Promise.reject(new Error('Refused to run an empty command'));
    const { session } = options;
    if (session.closed.aborted)
      return Promise.reject(new CommandError({ argv, exitCode: undefined, cause: 'session closed' }));
    if (options.signal?.aborted)
      return Promise.reject(new CommandError({ argv, exitCode: undefined, cause: 'aborted' }));
    let live: Live;
    try {
      live = this.live.get(session) ?? this.open(argv, options.env, session);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (live.call)
      return Promise.reject(new Error(`A call of this ${argv.join(' ')} session is still running`));
    const started = performance.now();
    return new Promise<RunResult>((resolve, reject) => {
      const stop = (cause: string) => {
        call.finish({ exitCode: undefined, cause });
        this.forget(session, live);
        live.process.kill();
      };
      const timer = setTimeout(() => stop('timeout'), options.timeoutMs ?? this.defaultTimeoutMs);
      const onAbort = () => stop('aborted');
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const call: Call = {
        stdout: '',
        stderr: '',
        repliedAt: 0,
        finish: (error) => {
          if (live.call !== call) return;
          live.call = undefined;
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          const { stdout, stderr } = call;
          if (!error) resolve({ argv, exitCode: 0, stdout, stderr, durationMs: performance.now() - started });
          else
            reject(new CommandError({ argv, exitCode: error.exitCode, stdout, stderr, cause: error.cause }));
        },
      };
      live.call = call;
      live.process.write(options.input ?? '');
    });
  }

  private open(argv: readonly string[], env: RunOptions['env'], session: CommandSession): Live {
    let killTimer: NodeJS.Timeout | undefined;
    const close = () => {
      live.process.end();
      killTimer = setTimeout(() => live.process.kill(), CLOSE_GRACE_MS);
      killTimer.unref();
    };
    const live: Live = {
      process: this.start(argv, env, {
        output: (fd, text) => {
          const call = live.call;
          if (!call) return;
          if (fd === 1) {
            call.stdout += text;
            if (session.answered(call.stdout)) call.finish();
            return;
          }
          call.stderr += text;
          const answer = session.reply(call.stderr.slice(call.repliedAt));
          if (answer !== undefined) {
            call.repliedAt = call.stderr.length;
            live.process.write(answer);
          }
        },
        exit: (exitCode, cause) => {
          clearTimeout(killTimer);
          this.forget(session, live);
          live.call?.finish(
            cause !== undefined
              ? { exitCode: undefined, cause }
              : { exitCode, cause: `exited with code ${exitCode} before answering` },
          );
        },
      }),
      release: () => session.closed.removeEventListener('abort', close),
    };
    this.live.set(session, live);
    session.closed.addEventListener('abort', close, { once: true });
    return live;
  }

  private forget(session: CommandSession, live: Live): void {
    live.release();
    if (this.live.get(session) === live) this.live.delete(session);
  }
}
