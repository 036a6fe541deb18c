/**
 * containerd's `/etc/containerd/config.toml`: the pure merge of the `devmapper` snapshotter section (and,
 * when asked, the CRI plugin's default snapshotter) into an existing configuration, keeping everything else.
 *
 * When the tables we set do not exist yet, the section is appended to the existing text so comments and
 * layout survive; the appended text is accepted only if it parses to exactly the merged configuration.
 * Otherwise the whole file is re-rendered with smol-toml (comments are then lost; the backup keeps them).
 */
import { parse, stringify, TomlDate, type TomlTable } from 'smol-toml';
import type { ContainerdIntent } from './types.js';

/** Result of {@link parseContainerdConfig}. */
export type ParsedContainerdConfig = { ok: true; config: TomlTable } | { ok: false; error: string };

/** Where a config version keeps the settings we write (table paths from the root). */
interface Layout {
  devmapper: string[];
  criSnapshotter: string[];
}

const LAYOUTS: Record<1 | 2 | 3, Layout> = {
  1: { devmapper: ['plugins', 'devmapper'], criSnapshotter: ['plugins', 'cri', 'containerd'] },
  2: {
    devmapper: ['plugins', 'io.containerd.snapshotter.v1.devmapper'],
    criSnapshotter: ['plugins', 'io.containerd.grpc.v1.cri', 'containerd'],
  },
  3: {
    devmapper: ['plugins', 'io.containerd.snapshotter.v1.devmapper'],
    criSnapshotter: ['plugins', 'io.containerd.cri.v1.images'],
  },
};

/** Parses config.toml; a missing or blank file is an empty configuration. */
export function parseContainerdConfig(text: string | undefined): ParsedContainerdConfig {
  if (text === undefined || text.trim() === '') return { ok: true, config: {} };
  try {
    return { ok: true, config: parse(text) };
  } catch (err) {
    return { ok: false, error: `not valid TOML: ${(err as Error).message.replace(/\s+/g, ' ').trim()}` };
  }
}

/** The config format version: containerd reads a file without `version` as version 1. */
function configVersion(config: TomlTable, empty: boolean): 1 | 2 | 3 | undefined {
  const version = config['version'];
  if (version === undefined) return empty ? 2 : 1;
  if (version === 1 || version === 2 || version === 3) return version;
  return undefined;
}

/** Bytes of a Kubernetes quantity with an integer value ("10Gi", "512Mi", "20G", "1073741824"). */
export function quantityBytes(quantity: string): number {
  const m = /^([0-9]+)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/.exec(quantity);
  if (!m) throw new Error(`Invalid size ${JSON.stringify(quantity)}: use an integer quantity such as 10Gi`);
  const factors: Record<string, number> = {
    '': 1,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
  };
  const bytes = Number(m[1]) * factors[m[2] ?? '']!;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`Invalid size ${JSON.stringify(quantity)}`);
  return bytes;
}

/**
 * A size as containerd's devmapper snapshotter reads it (go-units `RAMInBytes`, where every suffix is
 * binary): "10GiB" when it divides exactly, else the plain byte count.
 */
export function devmapperSize(quantity: string): string {
  const bytes = quantityBytes(quantity);
  for (const [suffix, factor] of [
    ['TiB', 2 ** 40],
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (bytes % factor === 0) return `${bytes / factor}${suffix}`;
  }
  return String(bytes);
}

/** The keys of the devmapper section for a pool. */
export function devmapperSettings(poolName: string, containerd: ContainerdIntent): TomlTable {
  return {
    pool_name: poolName,
    root_path: containerd.rootPath,
    base_image_size: devmapperSize(containerd.baseImageSize),
    discard_blocks: containerd.discardBlocks,
  };
}

/** Result of {@link mergeContainerdConfig}. */
export type ContainerdConfigMerge =
  | { ok: true; config: TomlTable; content: string; changed: boolean; appended: boolean }
  | { ok: false; error: string };

function isTable(value: unknown): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof TomlDate);
}

/** Order-insensitive deep equality of TOML values. */
export function tomlEqual(a: unknown, b: unknown): boolean {
  if (a instanceof TomlDate || b instanceof TomlDate) return String(a) === String(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => tomlEqual(v, b[i]))
    );
  }
  if (isTable(a) && isTable(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && tomlEqual(a[k], b[k]));
  }
  return a === b;
}

/** Copies tables and arrays (values such as dates are immutable and shared). */
function cloneTable(table: TomlTable): TomlTable {
  const clone = (value: unknown): unknown =>
    Array.isArray(value) ? value.map(clone) : isTable(value) ? cloneTable(value) : value;
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, clone(v)])) as TomlTable;
}

/** Sets `values` into the table at `path`, creating tables; fails when a path element is not a table. */
function setIn(root: TomlTable, path: readonly string[], values: TomlTable): string | undefined {
  let table = root;
  for (const key of path) {
    const next = table[key];
    if (next === undefined) table[key] = {};
    else if (!isTable(next)) return `${path.join('.')}: ${key} is not a table`;
    table = table[key] as TomlTable;
  }
  Object.assign(table, values);
  return undefined;
}

function hasTable(root: TomlTable, path: readonly string[]): boolean {
  let value: unknown = root;
  for (const key of path) {
    if (!isTable(value) || value[key] === undefined) return false;
    value = value[key];
  }
  return true;
}

function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}

/** Renders `[a."b.c"]` plus its keys, for appending to an existing file. */
function renderTable(path: readonly string[], values: TomlTable): string {
  const body = stringify(values)
    .trimEnd()
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
  return `[${path.map(tomlKey).join('.')}]\n${body}\n`;
}

/**
 * Merges the devmapper section for `poolName` (and the CRI default snapshotter when asked) into the
 * parsed configuration. Fails on an unknown config version or when a table we need is a plain value.
 */
export function mergeContainerdConfig(
  existing: TomlTable,
  existingText: string | undefined,
  poolName: string,
  containerd: ContainerdIntent,
): ContainerdConfigMerge {
  const empty = existingText === undefined || existingText.trim() === '';
  const version = configVersion(existing, empty);
  if (version === undefined)
    return { ok: false, error: `unsupported config version ${String(existing['version'])}` };
  const layout = LAYOUTS[version];
  const edits: { path: string[]; values: TomlTable }[] = [
    { path: layout.devmapper, values: devmapperSettings(poolName, containerd) },
  ];
  if (containerd.criDefaultSnapshotter)
    edits.push({ path: layout.criSnapshotter, values: { snapshotter: 'devmapper' } });

  const merged = cloneTable(existing);
  if (empty) merged['version'] = version;
  for (const edit of edits) {
    const problem = setIn(merged, edit.path, edit.values);
    if (problem) return { ok: false, error: problem };
  }
  if (!empty && tomlEqual(existing, merged)) {
    return { ok: true, config: existing, content: existingText!, changed: false, appended: false };
  }
  if (!empty && edits.every((e) => !hasTable(existing, e.path))) {
    const base = existingText!.endsWith('\n') ? existingText! : `${existingText!}\n`;
    const text = `${base}\n${edits.map((e) => renderTable(e.path, e.values)).join('\n')}`;
    const reparsed = parseContainerdConfig(text);
    if (reparsed.ok && tomlEqual(reparsed.config, merged)) {
      return { ok: true, config: merged, content: text, changed: true, appended: true };
    }
  }
  return { ok: true, config: merged, content: stringify(merged), changed: true, appended: false };
}

/** The pool the configuration's devmapper snapshotter uses, whatever the config version. */
export function configuredDevmapperPool(config: TomlTable): string | undefined {
  for (const layout of Object.values(LAYOUTS)) {
    let value: unknown = config;
    for (const key of layout.devmapper) value = isTable(value) ? value[key] : undefined;
    if (isTable(value) && typeof value['pool_name'] === 'string') return value['pool_name'];
  }
  return undefined;
}
