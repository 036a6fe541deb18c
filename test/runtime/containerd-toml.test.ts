import { describe, expect, it } from '@jest/globals';
import { parse } from 'smol-toml';
import {
  configuredDevmapperPool,
  devmapperSize,
  mergeContainerdConfig,
  parseContainerdConfig,
  quantityBytes,
  tomlEqual,
} from '../../node-agent/runtime/containerd-toml.js';
import type { ContainerdIntent } from '../../node-agent/runtime/types.js';

const containerd: ContainerdIntent = {
  rootPath: '/var/lib/containerd/devmapper',
  baseImageSize: '10Gi',
  discardBlocks: true,
  criDefaultSnapshotter: false,
  disableUdev: false,
};
const DEVMAPPER = 'io.containerd.snapshotter.v1.devmapper';

/** Debian bookworm's /etc/containerd/config.toml, plus a comment. */
const DEBIAN = `version = 2

# CNI from Debian's package
[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.internal.v1.opt"]
    path = "/var/lib/containerd/opt"
`;

function merge(text: string | undefined, intent: ContainerdIntent = containerd, pool = 'ctrd-thinpool') {
  const parsed = parseContainerdConfig(text);
  if (!parsed.ok) throw new Error(parsed.error);
  const merged = mergeContainerdConfig(parsed.config, text, pool, intent);
  if (!merged.ok) throw new Error(merged.error);
  return merged;
}

describe('sizes for the devmapper snapshotter', () => {
  it('reads integer Kubernetes quantities', () => {
    expect(quantityBytes('10Gi')).toBe(10 * 2 ** 30);
    expect(quantityBytes('20G')).toBe(20e9);
    expect(quantityBytes('4096')).toBe(4096);
    expect(() => quantityBytes('1.5Gi')).toThrow(/integer quantity/);
    expect(() => quantityBytes('0')).toThrow(/Invalid size/);
  });

  it('writes binary sizes with their unit and anything else in bytes (exact: go-units reads every suffix as binary)', () => {
    expect(devmapperSize('10Gi')).toBe('10GiB');
    expect(devmapperSize('512Mi')).toBe('512MiB');
    expect(devmapperSize('1536Mi')).toBe('1536MiB');
    expect(devmapperSize('20G')).toBe('19531250KiB');
    expect(devmapperSize('1000')).toBe('1000');
  });
});

describe('mergeContainerdConfig', () => {
  it('appends the devmapper section to an existing file, keeping its text and comments', () => {
    const m = merge(DEBIAN);
    expect(m.changed).toBe(true);
    expect(m.appended).toBe(true);
    expect(m.content.startsWith(DEBIAN)).toBe(true);
    expect(m.content.slice(DEBIAN.length)).toBe(
      [
        '',
        `[plugins."${DEVMAPPER}"]`,
        '  pool_name = "ctrd-thinpool"',
        '  root_path = "/var/lib/containerd/devmapper"',
        '  base_image_size = "10GiB"',
        '  discard_blocks = true',
        '',
      ].join('\n'),
    );
    const parsed = parse(m.content) as { plugins: Record<string, unknown> };
    expect(parsed.plugins['io.containerd.grpc.v1.cri']).toEqual({
      cni: { bin_dir: '/usr/lib/cni', conf_dir: '/etc/cni/net.d' },
    });
  });

  it('writes a version 2 file when there is none', () => {
    const m = merge(undefined);
    expect(parse(m.content)).toEqual({
      version: 2,
      plugins: {
        [DEVMAPPER]: {
          pool_name: 'ctrd-thinpool',
          root_path: '/var/lib/containerd/devmapper',
          base_image_size: '10GiB',
          discard_blocks: true,
        },
      },
    });
  });

  it('changes nothing, byte for byte, when the section already says the same', () => {
    const first = merge(DEBIAN);
    const second = merge(first.content);
    expect(second.changed).toBe(false);
    expect(second.content).toBe(first.content);
  });

  it('replaces our keys in an existing section and keeps the others (re-rendered, comments lost)', () => {
    const text = `version = 2\n[plugins."${DEVMAPPER}"]\n  pool_name = "old-pool"\n  fs_type = "xfs"\n`;
    const m = merge(text);
    expect(m.appended).toBe(false);
    expect((parse(m.content) as { plugins: Record<string, unknown> }).plugins[DEVMAPPER]).toEqual({
      pool_name: 'ctrd-thinpool',
      fs_type: 'xfs',
      root_path: '/var/lib/containerd/devmapper',
      base_image_size: '10GiB',
      discard_blocks: true,
    });
  });

  it('sets the CRI default snapshotter only when asked, at the path of the config version', () => {
    const withCri = { ...containerd, criDefaultSnapshotter: true };
    expect(parse(merge(DEBIAN, withCri).content)).toMatchObject({
      plugins: {
        'io.containerd.grpc.v1.cri': {
          containerd: { snapshotter: 'devmapper' },
          cni: { bin_dir: '/usr/lib/cni' },
        },
      },
    });
    expect(parse(merge('version = 3\n', withCri).content)).toMatchObject({
      plugins: { 'io.containerd.cri.v1.images': { snapshotter: 'devmapper' } },
    });
    expect(merge(DEBIAN).content).not.toContain('snapshotter = "devmapper"');
  });

  it('uses short plugin names in a version 1 file (no version key)', () => {
    const m = merge('root = "/var/lib/containerd"\n');
    expect(parse(m.content)).toMatchObject({
      root: '/var/lib/containerd',
      plugins: { devmapper: { pool_name: 'ctrd-thinpool' } },
    });
  });

  it('refuses an unknown version and a plain value where a table must be', () => {
    const parsed = parseContainerdConfig('version = 9\n');
    expect(parsed.ok && mergeContainerdConfig(parsed.config, 'version = 9\n', 'p', containerd)).toEqual({
      ok: false,
      error: 'unsupported config version 9',
    });
    const plain = 'version = 2\nplugins = 3\n';
    const p2 = parseContainerdConfig(plain);
    expect(p2.ok && mergeContainerdConfig(p2.config, plain, 'p', containerd)).toEqual({
      ok: false,
      error: `plugins.${DEVMAPPER}: plugins is not a table`,
    });
  });

  it('reports text that is not TOML, with the parser position', () => {
    const parsed = parseContainerdConfig('version = 2\n[plugins\n');
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.error).toMatch(/^not valid TOML: .*/);
  });
});

describe('configuredDevmapperPool', () => {
  it('finds the pool whatever the config version', () => {
    expect(configuredDevmapperPool(parse(merge(DEBIAN).content))).toBe('ctrd-thinpool');
    expect(configuredDevmapperPool(parse('[plugins.devmapper]\npool_name = "x-pool"\n'))).toBe('x-pool');
    expect(configuredDevmapperPool(parse(DEBIAN))).toBeUndefined();
  });
});

describe('tomlEqual', () => {
  it('ignores key order but not values or array order', () => {
    expect(tomlEqual({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toBe(true);
    expect(tomlEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(tomlEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
  });
});
