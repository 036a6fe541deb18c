/**
 * `thinpool-agent run` never loads `@kubernetes/client-node` (about 60 MiB of resident memory, ADR 0086).
 * The real entry point (node-agent/main.ts) runs as a child process against the API emulator, with a module
 * loader hook that records every module it resolves and refuses client-node: the agent must still list and
 * watch its ThinPool and Node, report why it is not ready, and stop cleanly on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { startApiServer, type RunningApiServer } from '../../support/kube-apiserver/index.js';
import { eventually } from '../../operator/support/harness.js';

jest.setTimeout(60_000);

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A resolve hook: appends each resolved URL to $MODULE_RECORD_FILE and refuses client-node. */
const HOOKS = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.MODULE_RECORD_FILE, result.url + '\\n');
  if (result.url.includes('/node_modules/@kubernetes/client-node/')) {
    throw new Error('Refused @kubernetes/client-node, imported from ' + context.parentURL);
  }
  return result;
}
`;

function getText(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('thinpool-agent run', () => {
  let api: RunningApiServer;
  let dir: string;

  beforeAll(async () => {
    api = await startApiServer({ crdDir: path.join(REPO, 'crds') });
    dir = mkdtempSync(path.join(tmpdir(), 'thinpool-agent-imports-'));
  });

  afterAll(async () => {
    await api?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('talks to the API without ever resolving @kubernetes/client-node', async () => {
    const kubeconfig = path.join(dir, 'kubeconfig');
    await api.writeKubeconfig(kubeconfig);
    const hooks = path.join(dir, 'hooks.mjs');
    writeFileSync(hooks, HOOKS);
    const register = path.join(dir, 'register.mjs');
    writeFileSync(
      register,
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
    );
    const record = path.join(dir, 'modules.txt');
    writeFileSync(record, '');
    await fetch(`${api.url}/api/v1/nodes`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } }),
    });

    // No ThinPool exists, so the agent runs no command on this machine's host.
    const child = spawn(
      process.execPath,
      [
        '--import',
        pathToFileURL(register).href,
        '--import',
        'tsx',
        'node-agent/main.ts',
        'run',
        '--kubeconfig',
        kubeconfig,
        '--node',
        'n1',
        '--thinpool',
        'absent',
        '--host',
        'local',
        '--dm-events=false',
        '--metrics-bind-address',
        '127.0.0.1:0',
      ],
      {
        cwd: REPO,
        env: { ...process.env, MODULE_RECORD_FILE: record, LOG_LEVEL: 'info', NODE_OPTIONS: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const output: string[] = [];
    let port: number | undefined;
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        if (line.includes('"Started thin pool agent"')) port = Number(JSON.parse(line).port);
      });
    }
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await Promise.race([
        eventually(() => port, 'the agent to start'),
        exited.then((code) => {
          if (port !== undefined) return;
          throw new Error(`The agent exited (${code}) before it started:\n${output.join('\n')}`);
        }),
      ]);
      await eventually(
        () =>
          api.requestLog.count({ verb: 'watch', resource: 'thinpools' }) >= 1 &&
          api.requestLog.count({ verb: 'watch', resource: 'nodes' }) >= 1,
        'the agent to watch its ThinPool and Node',
      );
      const ready = await eventually(async () => {
        const answer = await getText(port!, '/readyz');
        return answer.body.includes('does not exist') ? answer : undefined;
      }, 'the agent to know its ThinPool is missing');
      expect(ready).toEqual({ status: 503, body: 'ThinPool absent does not exist\n' });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);

    const modules = readFileSync(record, 'utf8').split('\n');
    expect(modules.some((url) => url.endsWith('/common/kube/http-transport.ts'))).toBe(true);
    expect(modules.some((url) => url.endsWith('/common/kube/informer.ts'))).toBe(true);
    expect(modules.filter((url) => url.includes('@kubernetes/client-node'))).toEqual([]);
    expect(output.filter((line) => line.includes('Refused @kubernetes/client-node'))).toEqual([]);
  });
});
