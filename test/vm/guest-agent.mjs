// The guest agent: an exec server speaking JSON lines (protocol in test/vm/protocol.ts). Its results and
// errors follow the local host's (node-agent/host/command-runner.ts, host-files.ts) so the agent runs unchanged.
// In the VM it runs on the virtio-serial port (`--channel /dev/vportNpM`); tests on the host run it over
// stdio (`--stdio`) to check the same code without a VM. Plain JavaScript with only node built-ins:
// guest CPU under TCG is 5-30x slower, so it does as little as possible.
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';

/** Like execa: SIGTERM first, SIGKILL if the command is still alive after this delay. */
const FORCE_KILL_AFTER_MS = 5000;
/** Like execa's maxBuffer: more output than this per stream fails the command. */
const MAX_BUFFER_BYTES = 100 * 1024 * 1024;
/** A command that exited while a daemon it started still holds its pipes: stop waiting after this. */
const STREAM_DRAIN_AFTER_EXIT_MS = 1000;
const DEFAULT_TIMEOUT_MS = 120_000;

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const defaultCwd = option('--cwd') ?? '/';

let input;
let output;
if (args.includes('--stdio')) {
  input = process.stdin;
  output = process.stdout;
} else {
  const channel = option('--channel');
  if (!channel) throw new Error('Usage: guest-agent.mjs --channel PATH | --stdio [--cwd DIR]');
  // A virtio-serial port can be opened only once: read and write through the same descriptor.
  const fd = fs.openSync(channel, 'r+');
  input = fs.createReadStream(null, { fd, autoClose: false });
  output = fs.createWriteStream(null, { fd, autoClose: false });
}

function send(message) {
  output.write(`${JSON.stringify(message)}\n`);
}

function errorFields(err) {
  return { code: err.code, message: err.message, syscall: err.syscall, path: err.path };
}

const running = new Map();

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function stopCommand(job, reason) {
  if (job.reason || job.finished) return;
  job.reason = reason;
  // A session's process may be waiting on its stdin: closing it lets it end even if it ignores SIGTERM.
  if (job.child.stdin && !job.child.stdin.writableEnded) job.child.stdin.end();
  killGroup(job.child, 'SIGTERM');
  job.forceKillTimer = setTimeout(() => killGroup(job.child, 'SIGKILL'), FORCE_KILL_AFTER_MS);
}

function run(request) {
  const started = Date.now();
  const argv = request.argv;
  const stream = request.stream === true;
  const keepStdin = request.keepStdin === true;
  let child;
  try {
    child = spawn(argv[0], argv.slice(1), {
      cwd: request.cwd ?? defaultCwd,
      env: { ...process.env, ...request.env, LC_ALL: 'C' },
      stdio: [keepStdin || typeof request.input === 'string' ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      // Own process group, so a timeout or abort also stops the command's children.
      detached: true,
    });
  } catch (err) {
    send({
      id: request.id,
      ok: true,
      exitCode: null,
      signal: null,
      reason: `spawn error ${err.code}`,
      stdout: '',
      stderr: '',
      durationMs: 0,
    });
    return;
  }
  const job = { child, reason: undefined, finished: false, forceKillTimer: undefined };
  const chunks = { 1: [], 2: [] };
  const sizes = { 1: 0, 2: 0 };
  for (const fd of [1, 2]) {
    const source = fd === 1 ? child.stdout : child.stderr;
    source.on('data', (data) => {
      if (stream) {
        send({ id: request.id, event: 'output', fd, data: data.toString('base64') });
        return;
      }
      sizes[fd] += data.length;
      if (sizes[fd] > MAX_BUFFER_BYTES) stopCommand(job, 'maxBuffer exceeded');
      else chunks[fd].push(data);
    });
  }
  if (child.stdin) {
    child.stdin.on('error', () => {}); // EPIPE when the command does not read its input.
    if (!keepStdin) child.stdin.end(request.input);
    else if (typeof request.input === 'string') child.stdin.write(request.input);
  }
  const timer = setTimeout(() => stopCommand(job, 'timeout'), request.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  running.set(request.id, job);

  let spawnError;
  child.on('error', (err) => {
    spawnError = err;
  });
  let drainTimer;
  child.on('exit', () => {
    drainTimer = setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
    }, STREAM_DRAIN_AFTER_EXIT_MS);
  });
  child.on('close', (code, signal) => {
    job.finished = true;
    clearTimeout(timer);
    clearTimeout(drainTimer);
    clearTimeout(job.forceKillTimer);
    running.delete(request.id);
    let reason = job.reason;
    if (spawnError) reason = spawnError.code === 'ENOENT' ? 'not found' : `spawn error ${spawnError.code}`;
    send({
      id: request.id,
      ok: true,
      exitCode: spawnError ? null : code,
      signal,
      reason,
      stdout: Buffer.concat(chunks[1]).toString('utf8'),
      stderr: Buffer.concat(chunks[2]).toString('utf8'),
      durationMs: Date.now() - started,
    });
  });
}

async function readFile(request) {
  try {
    return { content: await fs.promises.readFile(request.path, 'utf8') };
  } catch (err) {
    if (err.code === 'ENOENT') return { content: null };
    throw err;
  }
}

let tempCounter = 0;
async function writeFile(request) {
  const dir = path.dirname(request.path);
  const temp = path.join(dir, `.${path.basename(request.path)}.${process.pid}.${++tempCounter}.tmp`);
  const mode = request.mode ?? 0o644;
  const file = await fs.promises.open(temp, 'wx', mode);
  try {
    await file.writeFile(request.content, 'utf8');
    await file.chmod(mode);
    await file.sync();
  } catch (err) {
    await file.close();
    await fs.promises.rm(temp, { force: true });
    throw err;
  }
  await file.close();
  try {
    await fs.promises.rename(temp, request.path);
  } catch (err) {
    await fs.promises.rm(temp, { force: true });
    throw err;
  }
  const directory = await fs.promises.open(dir, 'r');
  await directory.sync();
  await directory.close();
  return {};
}

function fileType(st) {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isBlockDevice()) return 'block-device';
  if (st.isCharacterDevice()) return 'character-device';
  return 'other';
}

async function stat(request) {
  try {
    const st = await fs.promises.stat(request.path);
    return {
      stat: {
        exists: true,
        type: fileType(st),
        sizeBytes: st.size,
        mode: st.mode & 0o7777,
        mtimeMs: st.mtimeMs,
      },
    };
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return { stat: { exists: false } };
    throw err;
  }
}

function readDisks() {
  const disks = [];
  for (const name of fs
    .readdirSync('/sys/block')
    .filter((n) => n.startsWith('vd'))
    .sort()) {
    let serial = '';
    try {
      serial = fs.readFileSync(`/sys/block/${name}/serial`, 'utf8').trim();
    } catch {
      // A disk without a serial.
    }
    const sectors = Number(fs.readFileSync(`/sys/block/${name}/size`, 'utf8'));
    disks.push({ serial, devicePath: `/dev/${name}`, sizeBytes: sectors * 512 });
  }
  return disks;
}

const fileOps = { readFile, writeFile, stat };

function handle(request) {
  const { id, op } = request;
  if (op === 'run') return run(request);
  if (op === 'kill') {
    const job = running.get(request.target);
    if (job) stopCommand(job, 'aborted');
    return send({ id, ok: true });
  }
  if (op === 'input') {
    const stdin = running.get(request.target)?.child.stdin;
    if (stdin && !stdin.destroyed && !stdin.writableEnded) {
      if (typeof request.data === 'string' && request.data) stdin.write(request.data);
      if (request.end) stdin.end();
    }
    return send({ id, ok: true });
  }
  if (op === 'ping')
    return send({ id, ok: true, uptimeSec: Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]) });
  if (op === 'shutdown') {
    // The host then closes the channel: the read returns end-of-file and the agent exits. Exiting here
    // would hang, since process.exit waits for the thread blocked reading the port.
    for (const job of running.values()) killGroup(job.child, 'SIGKILL');
    return send({ id, ok: true });
  }
  const fileOp = fileOps[op];
  if (!fileOp) return send({ id, ok: false, error: { code: 'EBADOP', message: `Unknown operation ${op}` } });
  fileOp(request).then(
    (result) => send({ id, ok: true, ...result }),
    (err) => send({ id, ok: false, error: errorFields(err) }),
  );
}

let pending = '';
input.setEncoding('utf8');
input.on('data', (text) => {
  pending += text;
  let newline;
  while ((newline = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, newline);
    pending = pending.slice(newline + 1);
    if (!line.trim()) continue;
    let request;
    try {
      request = JSON.parse(line);
    } catch {
      process.stderr.write(`guest-agent: ignored a line that is not JSON: ${line.slice(0, 200)}\n`);
      continue;
    }
    handle(request);
  }
});
input.on('end', () => process.exit(0));

let kernel = '';
try {
  kernel = fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
} catch {
  // Not Linux.
}
send({
  event: 'ready',
  kernel,
  disks: fs.existsSync('/sys/block') ? readDisks() : [],
  uptimeSec: Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]),
});
