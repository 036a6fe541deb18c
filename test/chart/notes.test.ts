import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { startApiServer, type RunningApiServer } from '../support/kube-apiserver/index.js';
import { ALL_OPTIONS_VALUES, CHART_DIR, helm } from './helm.js';

/**
 * NOTES.txt as `helm install` prints it. `helm template` does not render NOTES, so this runs a client-side
 * `helm install --dry-run` with Helm's in-memory release driver; Helm still asks a server for its version
 * and API groups, which the API emulator answers.
 * (The memory driver also swaps in a client that creates nothing; the real `helm install` against the API
 * emulator is tested in helm-install.test.ts.)
 */

// Real helm; the machine may be busy.
jest.setTimeout(120_000);

const NAMESPACE = 'thinpool-system';
const MEMORY_DRIVER = { HELM_DRIVER: 'memory', HELM_MEMORY_DRIVER_DATA: '/dev/null' };

let api: RunningApiServer;
let kubeconfig: string;

beforeAll(async () => {
  api = await startApiServer();
  kubeconfig = path.join(mkdtempSync(path.join(tmpdir(), 'thinpool-notes-')), 'kubeconfig');
  await api.writeKubeconfig(kubeconfig);
});

afterAll(async () => {
  await api?.stop();
});

async function notes(release: string, extraArgs: string[] = []): Promise<string> {
  const result = await helm(
    [
      'install',
      release,
      CHART_DIR,
      '--namespace',
      NAMESPACE,
      '--kubeconfig',
      kubeconfig,
      '--dry-run=client',
      ...extraArgs,
    ],
    MEMORY_DRIVER,
  );
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  const start = result.stdout.indexOf('NOTES:');
  expect(start).toBeGreaterThan(-1);
  return result.stdout.slice(start);
}

describe('NOTES.txt', () => {
  it('says how to allow the privileged agents, check the operator, and turn monitoring on', async () => {
    const text = await notes('thinpool-operator');
    expect(text).toContain(
      `kubectl label namespace ${NAMESPACE} pod-security.kubernetes.io/enforce=privileged --overwrite`,
    );
    expect(text).toContain(`kubectl -n ${NAMESPACE} rollout status deployment/thinpool-operator`);
    expect(text).toContain('kubectl get thinpools -o wide');
    expect(text).toContain('--set serviceMonitor.enabled=true --set podMonitor.enabled=true');
    expect(text).toContain('kubectl apply --server-side -f <chart>/crds/');
    expect(text).not.toContain('example ThinPool');
  });

  it('lists every monitoring object and the example when they are on', async () => {
    const text = await notes('tp', ['--values', ALL_OPTIONS_VALUES]);
    expect(text).toContain('ServiceMonitor "tp-thinpool-operator" scrapes the operator.');
    expect(text).toContain('PodMonitor "tp-thinpool-operator-agent" scrapes every agent pod on port 9900.');
    expect(text).toContain('runbooks: https://wiki.example.com/runbooks/thinpool');
    expect(text).toContain('ConfigMap "tp-thinpool-operator-dashboard" (grafana_dashboard=1)');
    expect(text).toContain('it only goes to nodes labelled thinpool.dev/example=true.');
    expect(text).not.toContain('Off. With prometheus-operator');
  });
});
