import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';
import {
  launchArgv,
  SWITCH_SCRIPT,
  switchScriptArgs,
  type SwitchRequest,
} from '../../node-agent/runtime/switch-script.js';

const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'runtime-switch-'));
const script = path.join(dir, 'runtime-switch.sh');
writeFileSync(script, SWITCH_SCRIPT, { mode: 0o755 });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const request: SwitchRequest = {
  mode: 'switch',
  id: 'abc123def456',
  attempt: 1,
  runtime: 'docker',
  resultPath: '/var/lib/thinpool-agent/runtime/docker-result',
  logPath: '/var/lib/thinpool-agent/runtime/docker-switch.log',
  configPath: '/etc/docker/daemon.json',
  stagedPath: '/var/lib/thinpool-agent/runtime/docker.next',
  backupPath: '/etc/docker/daemon.json.thinpool-backup',
  configExisted: true,
  dataRootMove: { dataRoot: '/var/lib/docker', dataRootBackup: '/var/lib/docker.bk' },
  restart: 'init-script',
  initScript: '/etc/init.d/docker',
  reasonLog: '/var/log/docker.log',
  dockerCli: '/usr/bin/docker',
  expectPool: 'docker-thinpool',
  timeoutSeconds: 120,
};

describe('the host-side one-shot script', () => {
  it('is valid POSIX sh (dash -n)', async () => {
    await expect(run('dash', ['-n', script])).resolves.toMatchObject({ stderr: '' });
  });

  it('refuses arguments it does not know, before touching anything', async () => {
    await expect(run('/bin/sh', [script, '--no-such-flag', 'x'])).rejects.toMatchObject({
      code: 2,
      stderr: 'runtime-switch: unknown argument --no-such-flag\n',
    });
    await expect(
      run('/bin/sh', [script, '--runtime', 'docker', '--restart', 'signal']),
    ).rejects.toMatchObject({
      code: 2,
      stderr: 'runtime-switch: --id, --result and --log are required\n',
    });
    await expect(run('/bin/sh', [script, '--runtime', 'podman'])).rejects.toMatchObject({ code: 2 });
  });

  it('never evaluates its arguments', () => {
    expect(SWITCH_SCRIPT).not.toMatch(/\beval\b/);
    expect(SWITCH_SCRIPT).not.toMatch(/sh -c/);
  });
});

describe('switchScriptArgs', () => {
  it('passes every value as its own argument, in a fixed order', () => {
    expect(switchScriptArgs(request)).toEqual([
      '--mode', 'switch', '--id', 'abc123def456', '--attempt', '1', '--runtime', 'docker',
      '--result', '/var/lib/thinpool-agent/runtime/docker-result',
      '--log', '/var/lib/thinpool-agent/runtime/docker-switch.log',
      '--config', '/etc/docker/daemon.json',
      '--staged', '/var/lib/thinpool-agent/runtime/docker.next',
      '--backup', '/etc/docker/daemon.json.thinpool-backup',
      '--config-existed', 'yes',
      '--data-root', '/var/lib/docker', '--data-root-backup', '/var/lib/docker.bk',
      '--restart', 'init-script', '--init-script', '/etc/init.d/docker',
      '--reason-log', '/var/log/docker.log',
      '--docker-cli', '/usr/bin/docker', '--expect-pool', 'docker-thinpool',
      '--timeout', '120',
    ]); // prettier-ignore
  });

  it('puts the signal strategy start command after --', () => {
    const args = switchScriptArgs({
      ...request,
      restart: 'signal',
      daemonPid: 42,
      daemonLog: '/var/lib/thinpool-agent/runtime/docker-daemon.log',
      startCommand: ['env', '-i', 'PATH=/usr/bin', '/usr/sbin/dockerd', '--debug'],
    });
    expect(args.slice(args.indexOf('--pid'), args.indexOf('--pid') + 2)).toEqual(['--pid', '42']);
    expect(args.slice(args.indexOf('--'))).toEqual([
      '--',
      'env',
      '-i',
      'PATH=/usr/bin',
      '/usr/sbin/dockerd',
      '--debug',
    ]);
  });
});

describe('launchArgv', () => {
  it('runs the one-shot in a transient systemd unit when systemd runs the host', () => {
    expect(launchArgv(true, '/s.sh', ['--id', 'x'], request)).toEqual([
      'systemd-run',
      '--unit=thinpool-runtime-switch-docker-abc123def456-1',
      '--collect',
      '--quiet',
      '/bin/sh',
      '/s.sh',
      '--id',
      'x',
    ]);
  });

  it('detaches it in its own session otherwise', () => {
    expect(launchArgv(false, '/s.sh', ['--id', 'x'], request)).toEqual([
      'setsid',
      '-f',
      '/bin/sh',
      '/s.sh',
      '--id',
      'x',
    ]);
  });
});
