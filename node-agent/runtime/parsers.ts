/**
 * Pure parsers of what the runtimes and the host print: `docker info --format '{{json .}}'`,
 * `ctr plugins ls`, `/proc/<pid>/cmdline` and `environ`, and the one-shot's result file. Tested against
 * outputs recorded from the real daemons (`test/fixtures/runtime/`).
 */
import type { CtrPlugin, DockerInfo, RuntimeKind, SwitchResult, SwitchState } from './types.js';

/**
 * Parses `docker info --format '{{json .}}'`. The CLI exits 0 even when the daemon is down and reports
 * that in `ServerErrors`, so a reachable daemon is one with a server version and no server error.
 */
export function parseDockerInfo(stdout: string): DockerInfo {
  let info: Record<string, unknown>;
  try {
    info = JSON.parse(stdout) as Record<string, unknown>;
  } catch {
    return { reachable: false, error: `docker info printed no JSON: ${stdout.trim().slice(0, 200)}` };
  }
  const serverErrors = info['ServerErrors'];
  if (Array.isArray(serverErrors) && serverErrors.length > 0) {
    return { reachable: false, error: serverErrors.map(String).join('; ') };
  }
  const serverVersion = typeof info['ServerVersion'] === 'string' ? info['ServerVersion'] : '';
  if (!serverVersion) return { reachable: false, error: 'docker info reported no server version' };
  const status = Array.isArray(info['DriverStatus']) ? (info['DriverStatus'] as unknown[]) : [];
  const pool = status.find((row) => Array.isArray(row) && row[0] === 'Pool Name') as string[] | undefined;
  return {
    reachable: true,
    serverVersion,
    driver: typeof info['Driver'] === 'string' ? info['Driver'] : '',
    ...(pool && typeof pool[1] === 'string' ? { poolName: pool[1] } : {}),
    ...(typeof info['DockerRootDir'] === 'string' ? { dockerRootDir: info['DockerRootDir'] } : {}),
  };
}

/** Parses the table `ctr plugins ls` prints (TYPE, ID, PLATFORMS, STATUS). */
export function parseCtrPlugins(stdout: string): CtrPlugin[] {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  return lines
    .filter((l) => !/^TYPE\s+ID\s+/.test(l))
    .map((l) => l.trim().split(/\s+/))
    .filter((cols) => cols.length >= 4)
    .map(([type, id, platforms, status]) => ({
      type: type!,
      id: id!,
      platforms: platforms!,
      status: status!,
    }));
}

/** Status of the devmapper snapshotter in a `ctr plugins ls` list (`ok`, `error`, `skip`), if listed. */
export function devmapperPluginStatus(plugins: readonly CtrPlugin[]): string | undefined {
  return plugins.find((p) => p.type === 'io.containerd.snapshotter.v1' && p.id === 'devmapper')?.status;
}

/** Splits `/proc/<pid>/cmdline` (NUL-separated, NUL-terminated) into an argument array. */
export function parseProcCmdline(raw: string): string[] {
  const parts = raw.split('\0');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}

/**
 * Environment variables a restarted daemon keeps from `/proc/<pid>/environ`. An allow-list: the rest
 * (proxy settings with credentials, tokens) must never reach a command line, a plan or a log.
 */
export const KEPT_DAEMON_ENV = [
  'PATH',
  'DM_DISABLE_UDEV',
  'DOCKER_RAMDISK',
  'TMPDIR',
  'XDG_RUNTIME_DIR',
] as const;

/** The allow-listed `KEY=value` entries of `/proc/<pid>/environ`. */
export function parseProcEnviron(raw: string): string[] {
  return parseProcCmdline(raw).filter((entry) => {
    const key = entry.slice(0, entry.indexOf('='));
    return (KEPT_DAEMON_ENV as readonly string[]).includes(key) && !/[\n\r]/.test(entry);
  });
}

const STATES: readonly SwitchState[] = [
  'running',
  'succeeded',
  'failed',
  'rolled-back',
  'rollback-failed',
  'recovered',
];

/**
 * Parses the one-shot's result file (`key=value` lines, written atomically by the script). Returns
 * `undefined` for a file that is not a complete result (unknown state or runtime, no id).
 */
export function parseSwitchResult(text: string): SwitchResult | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const state = fields.get('state') as SwitchState | undefined;
  const runtime = fields.get('runtime') as RuntimeKind | undefined;
  const id = fields.get('id');
  if (!id || !state || !STATES.includes(state) || (runtime !== 'docker' && runtime !== 'containerd')) {
    return undefined;
  }
  return {
    id,
    attempt: Number(fields.get('attempt') ?? '1') || 1,
    runtime,
    state,
    pid: Number(fields.get('pid') ?? '0') || 0,
    started: fields.get('started') ?? '',
    updated: fields.get('updated') ?? '',
    step: fields.get('step') ?? '',
    moved: fields.get('moved') === 'yes',
    configured: fields.get('configured') === 'yes',
    verified: fields.get('verified') ?? '',
    message: fields.get('message') ?? '',
  };
}
