/**
 * Docker's `/etc/docker/daemon.json`: parsing, and the pure merge that points the `devicemapper` storage
 * driver at our pool while keeping every other key of the file.
 */
import {
  DOCKER_DIRECT_LVM_OPTION_PREFIXES,
  DOCKER_STORAGE_OPTION_PATTERN,
  MANAGED_DOCKER_STORAGE_OPTIONS,
} from '../../api/v1alpha1/schema.js';
import { dmName, thinPoolDevName } from './dm-name.js';
import type { DockerIntent } from './types.js';

/** A daemon.json object (any JSON object; Docker's own keys are not all known here). */
export type DaemonJson = Record<string, unknown>;

/** Result of {@link parseDaemonJson}. */
export type ParsedDaemonJson = { ok: true; config: DaemonJson } | { ok: false; error: string };

/** Storage options whose keys this module owns: set when wanted, removed when not (the API's list). */
const MANAGED_KEYS: readonly string[] = MANAGED_DOCKER_STORAGE_OPTIONS;

/** Options of Docker's own direct-lvm setup: Docker refuses them together with `dm.thinpooldev`. */
const CONFLICTING_PREFIXES: readonly string[] = DOCKER_DIRECT_LVM_OPTION_PREFIXES;

/** Shape of an extra storage option (the API's pattern): a `dm.` key, `=`, a value on one line. */
const EXTRA_OPTION = new RegExp(DOCKER_STORAGE_OPTION_PATTERN);

/**
 * Parses daemon.json. A missing file or one with only whitespace is an empty configuration (Docker's
 * docs: "If it does not yet exist, create it"). Anything else must be a JSON object whose
 * `storage-opts`, when present, is a list of strings: Docker will not start otherwise.
 */
export function parseDaemonJson(text: string | undefined): ParsedDaemonJson {
  if (text === undefined || text.trim() === '') return { ok: true, config: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not valid JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: 'not a JSON object' };
  }
  const config = value as DaemonJson;
  const opts = config['storage-opts'];
  if (opts !== undefined && !(Array.isArray(opts) && opts.every((o) => typeof o === 'string'))) {
    return { ok: false, error: '"storage-opts" is not a list of strings' };
  }
  return { ok: true, config };
}

function optionKey(option: string): string {
  const eq = option.indexOf('=');
  return eq < 0 ? option : option.slice(0, eq);
}

/** Checks extra storage options; returns the problems found (empty when all are usable). */
export function validateExtraStorageOptions(options: readonly string[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const option of options) {
    const key = optionKey(option);
    if (!EXTRA_OPTION.test(option))
      problems.push(`${JSON.stringify(option)} is not of the form dm.<name>=<value>`);
    else if (MANAGED_KEYS.includes(key)) {
      problems.push(`${key} is set from its own spec field, not from extra storage options`);
    } else if (CONFLICTING_PREFIXES.some((p) => key.startsWith(p))) {
      problems.push(`${key} configures Docker's own direct-lvm setup, which conflicts with dm.thinpooldev`);
    } else if (seen.has(key)) problems.push(`${key} is given twice`);
    seen.add(key);
  }
  return problems;
}

/** The storage options the intent asks for, in a stable order (managed ones first, then the extras). */
export function desiredStorageOptions(vg: string, pool: string, docker: DockerIntent): string[] {
  const options = [
    `dm.thinpooldev=${dmName(vg, pool)}`,
    `dm.use_deferred_removal=${docker.deferredRemoval}`,
    `dm.use_deferred_deletion=${docker.deferredDeletion}`,
    `dm.min_free_space=${docker.minFreeSpacePercent}%`,
  ];
  if (docker.overrideUdevSyncCheck) options.push('dm.override_udev_sync_check=true');
  return [...options, ...docker.extraStorageOptions];
}

/** The merged file and what the merge did. */
export interface DaemonJsonMerge {
  /** The merged configuration. */
  config: DaemonJson;
  /** File content to write: the existing text when nothing changed, else the merged object, 2-space JSON. */
  content: string;
  /** False when the existing file already says exactly this (same driver, same set of options). */
  changed: boolean;
  /** Existing storage options removed because devicemapper on our pool cannot take them. */
  dropped: string[];
}

/**
 * Merges the devicemapper settings into an existing daemon.json: sets `storage-driver` and our storage
 * options, keeps every other key and every other `dm.*` option, and drops options Docker would reject
 * with devicemapper on a pool (another driver's options, Docker's own direct-lvm options).
 */
export function mergeDaemonJson(
  existing: DaemonJson,
  existingText: string | undefined,
  desiredOptions: readonly string[],
): DaemonJsonMerge {
  const desiredKeys = new Set(desiredOptions.map(optionKey));
  const current = (existing['storage-opts'] as string[] | undefined) ?? [];
  const kept: string[] = [];
  const dropped: string[] = [];
  for (const option of current) {
    const key = optionKey(option);
    if (desiredKeys.has(key) || MANAGED_KEYS.includes(key)) continue;
    if (!key.startsWith('dm.') || CONFLICTING_PREFIXES.some((p) => key.startsWith(p))) dropped.push(option);
    else kept.push(option);
  }
  const options = [...desiredOptions, ...kept];
  const sameOptions =
    current.length === options.length && [...current].sort().join('\n') === [...options].sort().join('\n');
  if (existing['storage-driver'] === 'devicemapper' && sameOptions && existingText !== undefined) {
    return { config: existing, content: existingText, changed: false, dropped: [] };
  }
  const config: DaemonJson = { ...existing, 'storage-driver': 'devicemapper', 'storage-opts': options };
  return { config, content: `${JSON.stringify(config, null, 2)}\n`, changed: true, dropped };
}

/** The storage driver daemon.json selects, if any. */
export function configuredStorageDriver(config: DaemonJson): string | undefined {
  const driver = config['storage-driver'];
  return typeof driver === 'string' ? driver : undefined;
}

/** The device-mapper pool name daemon.json's `dm.thinpooldev` names, if any. */
export function configuredThinPool(config: DaemonJson): string | undefined {
  const opts = (config['storage-opts'] as string[] | undefined) ?? [];
  const option = opts.find((o) => optionKey(o) === 'dm.thinpooldev');
  return option === undefined ? undefined : thinPoolDevName(option.slice(option.indexOf('=') + 1));
}

/** The data root daemon.json sets (`data-root`, or the legacy `graph`), if any. */
export function configuredDataRoot(config: DaemonJson): string | undefined {
  const root = config['data-root'] ?? config['graph'];
  return typeof root === 'string' ? root : undefined;
}
