import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import {
  devmapperPluginStatus,
  parseCtrPlugins,
  parseDockerInfo,
  parseProcCmdline,
  parseProcEnviron,
  parseSwitchResult,
} from '../../node-agent/runtime/parsers.js';

const fixture = (name: string): string => readFileSync(`test/fixtures/runtime/${name}`, 'utf8');

describe('parseDockerInfo (recorded from Docker 20.10 in the VM)', () => {
  it('reads the driver and the pool name of a devicemapper daemon', () => {
    expect(parseDockerInfo(fixture('docker-info-devicemapper.json'))).toEqual({
      reachable: true,
      serverVersion: '20.10.24+dfsg1',
      driver: 'devicemapper',
      poolName: 'my--vg-thinpool',
      dockerRootDir: '/var/lib/docker',
    });
  });

  it('reads a daemon with another driver (no pool)', () => {
    expect(parseDockerInfo(fixture('docker-info-vfs.json'))).toMatchObject({
      reachable: true,
      driver: 'vfs',
    });
    expect(parseDockerInfo(fixture('docker-info-vfs.json'))).not.toHaveProperty('poolName');
  });

  it('sees a stopped daemon although the CLI exits 0', () => {
    expect(parseDockerInfo(fixture('docker-info-unreachable.json'))).toEqual({
      reachable: false,
      error:
        'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
    });
    expect(parseDockerInfo('Error: nonsense')).toMatchObject({ reachable: false });
  });
});

describe('parseCtrPlugins (recorded from containerd 1.6 in the VM)', () => {
  it('lists every plugin with its status', () => {
    const plugins = parseCtrPlugins(fixture('ctr-plugins-devmapper-ok.txt'));
    expect(plugins).toHaveLength(38);
    expect(plugins[0]).toEqual({
      type: 'io.containerd.content.v1',
      id: 'content',
      platforms: '-',
      status: 'ok',
    });
    expect(devmapperPluginStatus(plugins)).toBe('ok');
  });

  it('shows the devmapper plugin in error when its pool does not exist', () => {
    expect(devmapperPluginStatus(parseCtrPlugins(fixture('ctr-plugins-devmapper-error.txt')))).toBe('error');
    expect(devmapperPluginStatus([])).toBeUndefined();
  });
});

describe('/proc parsers', () => {
  it('splits a NUL-separated command line', () => {
    expect(parseProcCmdline('/usr/sbin/dockerd\0-p\0/var/run/docker.pid\0')).toEqual([
      '/usr/sbin/dockerd',
      '-p',
      '/var/run/docker.pid',
    ]);
  });

  it('keeps only allow-listed environment entries (never proxies or tokens)', () => {
    const environ = 'PATH=/usr/bin\0HTTPS_PROXY=http://user:secret@proxy\0DM_DISABLE_UDEV=1\0TOKEN=x\0';
    expect(parseProcEnviron(environ)).toEqual(['PATH=/usr/bin', 'DM_DISABLE_UDEV=1']);
  });
});

describe('parseSwitchResult', () => {
  const text = [
    'id=0123456789ab',
    'attempt=2',
    'runtime=docker',
    'state=rolled-back',
    'pid=358',
    'started=2026-11-23T14:31:40Z',
    'updated=2026-11-23T14:32:11Z',
    'step=rolled-back',
    'moved=no',
    'configured=no',
    'verified=storage driver vfs',
    'message=docker did not come up: failed to start daemon: a=b; rolled back',
    '',
  ].join('\n');

  it('reads the result file the one-shot writes', () => {
    expect(parseSwitchResult(text)).toEqual({
      id: '0123456789ab',
      attempt: 2,
      runtime: 'docker',
      state: 'rolled-back',
      pid: 358,
      started: '2026-11-23T14:31:40Z',
      updated: '2026-11-23T14:32:11Z',
      step: 'rolled-back',
      moved: false,
      configured: false,
      verified: 'storage driver vfs',
      message: 'docker did not come up: failed to start daemon: a=b; rolled back',
    });
  });

  it('ignores a file that is not a complete result', () => {
    expect(parseSwitchResult('')).toBeUndefined();
    expect(parseSwitchResult(text.replace('state=rolled-back', 'state=weird'))).toBeUndefined();
    expect(parseSwitchResult(text.replace('runtime=docker', 'runtime=podman'))).toBeUndefined();
  });
});
