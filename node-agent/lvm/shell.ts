/**
 * LVM commands in one `lvm` shell process. `lvm` without arguments reads commands on stdin, one a line;
 * with the `lvmdbusd` command profile (shipped by lvm2 for its D-Bus daemon, which drives the shell the
 * same way) it answers every command with one JSON object: the report, if any, and a `log` whose last
 * `shell` entry is the command's status and return code. One process start instead of one per command is
 * most of the cost of a command on a slow host (ADR 0044).
 *
 * The encoding is an ordinary host command, `lvm` with the lines as its standard input, so it passes every
 * `Host` wrapper unchanged (a wrapper that does not know it sees a mutating `lvm` run). Pure except
 * {@link runLvmShell}.
 */
import { CommandError, type CommandSession, type Host, type RunOptions } from '../host/host.js';

/** The host command that runs a shell: `lvm` alone, with the commands on stdin. */
export const LVM_SHELL_ARGV: readonly string[] = ['lvm'];

/** The command profile that makes the shell answer in JSON with a command log (lvm2 ships it). */
export const LVM_SHELL_PROFILE = 'lvmdbusd';

/** Where lvm2 installs that profile (`config/profile_dir`). */
export const LVM_SHELL_PROFILE_PATH = `/etc/lvm/profile/${LVM_SHELL_PROFILE}.profile`;

/**
 * Environment of a shell run: the profile, and a `HOME` where the shell cannot keep its command history
 * (`$HOME/.lvm_history`), so the agent's commands never land in root's history on the node.
 */
export const LVM_SHELL_ENV: Readonly<Record<string, string>> = {
  LVM_COMMAND_PROFILE: LVM_SHELL_PROFILE,
  HOME: '/dev/null',
};

/**
 * Environment of a shell kept running for a whole apply ({@link LvmShellSession}): the same, and the report
 * and log written straight to stdout (`LVM_REPORT_FD`, as lvmdbusd reads them) so each command's answer
 * arrives when it is done, not when the shell exits (stdout itself is block-buffered in a pipe).
 */
export const LVM_SESSION_ENV: Readonly<Record<string, string>> = { ...LVM_SHELL_ENV, LVM_REPORT_FD: '1' };

/** The shell's command that prints the whole log of the command before it (errors included). */
export const LASTLOG: readonly string[] = ['lvm', 'lastlog'];

const LVM_TOOLS = new Set([
  'lvm',
  'pvcreate',
  'pvresize',
  'pvremove',
  'pvchange',
  'vgcreate',
  'vgextend',
  'vgremove',
  'vgchange',
  'lvcreate',
  'lvconvert',
  'lvchange',
  'lvextend',
  'lvresize',
  'lvremove',
]);

/**
 * Words the shell reads back unchanged: it splits a line at white space and has no quoting we rely on, so
 * anything else (a space, a quote, `#`, a newline that would start another command) is not sent through it.
 */
const SHELL_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** The line that runs `argv` in the shell, or `undefined` when it must run as its own process. */
export function lvmShellLine(argv: readonly string[]): string | undefined {
  const program = argv[0] ?? '';
  if (!LVM_TOOLS.has(program) || (program === 'lvm' && argv.length < 2)) return undefined;
  if (!argv.every((word) => SHELL_WORD.test(word))) return undefined;
  return argv.join(' ');
}

/**
 * The standard input of a shell run. Only the first command may change anything or ask a question: a
 * prompt (`Wipe it? [y/n]`) reads its answer from the following lines, so those are fixed read-only
 * commands without the letter `y` and every prompt is answered "no", as a command without stdin is.
 */
export function lvmShellInput(commands: readonly (readonly string[])[]): string {
  const lines = commands.map((argv, i) => {
    const line = lvmShellLine(argv);
    if (line === undefined) throw new Error(`Refused to send ${argv.join(' ')} through the lvm shell`);
    if (i > 0 && /y/i.test(line))
      throw new Error(`Refused "${line}" after the first command of an lvm shell`);
    return line;
  });
  return `${lines.join('\n')}\n`;
}

/** True when `argv`/`input` are a shell run made by {@link lvmShellInput}. */
export function isLvmShellRun(argv: readonly string[], input: string | undefined): input is string {
  return input !== undefined && argv.length === 1 && argv[0] === LVM_SHELL_ARGV[0];
}

/** The commands of a shell run's input, as argument arrays. */
export function lvmShellCommands(input: string): string[][] {
  return input
    .split('\n')
    .map((line) =>
      line
        .trim()
        .split(/\s+/)
        .filter((w) => w !== ''),
    )
    .filter((argv) => argv.length > 0);
}

/** True when the profile text makes the shell answer in JSON with a command log. */
export function isUsableShellProfile(content: string | undefined): boolean {
  if (content === undefined) return false;
  const setting = (name: string) =>
    content
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .find((l) => l.replace(/\s/g, '').startsWith(`${name}=`))
      ?.replace(/\s/g, '')
      .slice(name.length + 1)
      .replace(/"/g, '');
  return setting('output_format') === 'json' && setting('report_command_log') === '1';
}

/** Splits text into its top-level JSON objects (the shell prints one per command). */
export function splitJsonObjects(text: string): string[] {
  const objects: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' && depth > 0) {
      depth--;
      if (depth === 0) objects.push(text.slice(start, i + 1));
    }
  }
  return objects;
}

interface LogRow {
  log_type?: string;
  log_context?: string;
  log_object_type?: string;
  log_object_name?: string;
  log_message?: string;
  log_ret_code?: string;
}

/** How one command of a shell run ended. */
export interface LvmShellResult {
  argv: readonly string[];
  /** The exit code the command has as its own process: 0 for success, LVM's return code otherwise. */
  exitCode: number;
  /** The command's JSON object (its report, if it printed one). */
  stdout: string;
  /** Error and warning messages of its log. */
  messages: string[];
}

/** The name the shell logs a command under (`fullreport` for `lvm fullreport`). */
function commandName(argv: readonly string[]): string | undefined {
  return argv[0] === 'lvm' ? argv[1] : argv[0];
}

/** The command's own status in its log: the last `shell` entry about a `cmd`. */
function statusOf(log: LogRow[]): LogRow | undefined {
  return log.findLast(
    (row) => row.log_context === 'shell' && row.log_object_type === 'cmd' && row.log_type === 'status',
  );
}

/**
 * Matches the shell's output to the commands it was given, in order. Stops at the first command whose
 * answer is missing or is not about it (a prompt ate the lines after it), so the result can be shorter
 * than `commands`. A `lastlog` answer is the log of the command before it: its messages go to that one.
 */
export function parseLvmShellOutput(
  stdout: string,
  commands: readonly (readonly string[])[],
): LvmShellResult[] {
  const objects = splitJsonObjects(stdout);
  const results: LvmShellResult[] = [];
  for (const [i, argv] of commands.entries()) {
    const text = objects[i];
    if (text === undefined) break;
    let log: LogRow[];
    try {
      log = ((JSON.parse(text) as { log?: LogRow[] }).log ?? []).filter((r) => typeof r === 'object');
    } catch {
      break;
    }
    const messages = log
      .filter((r) => r.log_type === 'error' || r.log_type === 'warn')
      .map((r) => r.log_message ?? '');
    const name = commandName(argv);
    if (name === 'lastlog') {
      const previous = results.at(-1);
      if (!previous) {
        // Sent on its own, after a command of an earlier call: the messages are its own result's.
        results.push({ argv, exitCode: 0, stdout: text, messages });
        continue;
      }
      if (statusOf(log)?.log_object_name !== commandName(previous.argv)) break;
      previous.messages = [...new Set([...previous.messages, ...messages])];
      results.push({ argv, exitCode: 0, stdout: text, messages: [] });
      continue;
    }
    const status = statusOf(log);
    if (!status || status.log_object_name !== name) break;
    const code = Number(status.log_ret_code);
    results.push({ argv, exitCode: code === 1 ? 0 : code, stdout: text, messages });
  }
  return results;
}

/** Raised when the shell could not run at all (no shell in this lvm, profile missing): nothing ran. */
export class LvmShellUnavailable extends Error {
  constructor(readonly error: CommandError) {
    super(`The lvm shell is not available: ${error.message}`, { cause: error });
    this.name = 'LvmShellUnavailable';
  }
}

/** A question LVM asks on stderr before a change (`Wipe it? [y/n]: `). */
const PROMPT = /\[y\/n\]:\s*$/;

/**
 * One `lvm` shell kept running across {@link runLvmShell} calls (ADR 0092): a step costs only its own work,
 * not a process start (about 0.2 s each on a slow host). Every question is answered "no", as a shell
 * without stdin answers. {@link close} ends the shell after its current command.
 */
export class LvmShellSession implements CommandSession {
  private readonly controller = new AbortController();
  /** Commands the running call sent: it is answered when each has printed its JSON object. */
  expected = 0;

  get closed(): AbortSignal {
    return this.controller.signal;
  }

  answered(stdout: string): boolean {
    return splitJsonObjects(stdout).length >= this.expected;
  }

  reply(stderr: string): string | undefined {
    return PROMPT.test(stderr) ? 'n\n' : undefined;
  }

  close(): void {
    this.controller.abort();
  }
}

/**
 * Runs `commands` in one `lvm` shell process, or with `session` in the session's running shell, and returns
 * how each ended (a failed command is a result, not a rejection). The result is shorter than `commands`
 * when a prompt ate the lines after a command (without a session). Rejects with {@link LvmShellUnavailable}
 * when the shell answered nothing, so nothing ran, and with the host's `CommandError` when the process
 * itself failed (timeout, abort).
 */
export async function runLvmShell(
  host: Host,
  commands: readonly (readonly string[])[],
  options: Pick<RunOptions, 'signal' | 'timeoutMs'> & { session?: LvmShellSession } = {},
): Promise<{ results: LvmShellResult[]; stderr: string }> {
  const input = lvmShellInput(commands);
  const { session } = options;
  if (session) session.expected = commands.length;
  let stdout: string;
  let stderr: string;
  try {
    ({ stdout, stderr } = await host.run(LVM_SHELL_ARGV, {
      ...options,
      input,
      env: session ? LVM_SESSION_ENV : LVM_SHELL_ENV,
    }));
  } catch (err) {
    if (
      err instanceof CommandError &&
      err.exitCode !== undefined &&
      splitJsonObjects(err.stdout).length === 0
    )
      throw new LvmShellUnavailable(err);
    throw err;
  }
  return { results: parseLvmShellOutput(stdout, commands), stderr };
}
