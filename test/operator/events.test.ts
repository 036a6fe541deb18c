/** The Event recorder against the API emulator: one Event per distinct message, repeats bump its count. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EventRecorder } from '../../operator/controller/events.js';
import type { EventObject } from '../../operator/controller/kube-types.js';
import { KubeClient } from '../../common/kube/kube-client.js';
import { startApiServer, type RunningApiServer } from '../support/kube-apiserver/index.js';
import { thinPool } from './support/fixtures.js';
import { testLogger } from './support/harness.js';
import { ManualClock } from './support/manual-clock.js';

const EVENTS = '/api/v1/namespaces/default/events';

let api: RunningApiServer;
let client: KubeClient;

beforeAll(async () => {
  api = await startApiServer();
  client = new KubeClient(api.kubeConfig());
});

afterAll(async () => {
  await api?.stop();
});

async function events(): Promise<EventObject[]> {
  return (await client.list<EventObject>(EVENTS)).items;
}

describe('EventRecorder', () => {
  it('records an Event on a cluster-scoped object in the default namespace, and bumps its count on repeats', async () => {
    const clock = new ManualClock(Date.parse('2025-01-01T00:00:00Z'));
    const recorder = new EventRecorder({ client, instance: 'replica-1', clock, logger: testLogger() });
    const pool = thinPool('p');
    await recorder.record(pool, 'Warning', 'ReconcileFailed', 'PATCH failed with HTTP 500');
    await clock.advance(30_000);
    await recorder.record(pool, 'Warning', 'ReconcileFailed', 'PATCH failed with HTTP 500');
    await recorder.record(pool, 'Warning', 'ReconcileFailed', 'PATCH failed with HTTP 500');
    await recorder.record(
      pool,
      'Normal',
      'CreatedDaemonSet',
      'Created DaemonSet thinpool-system/thinpool-agent-p',
    );
    const list = await events();
    expect(list).toHaveLength(2);
    const failed = list.find((e) => e.reason === 'ReconcileFailed');
    expect(failed).toMatchObject({
      type: 'Warning',
      count: 3,
      firstTimestamp: '2025-01-01T00:00:00Z',
      lastTimestamp: '2025-01-01T00:00:30Z',
      involvedObject: { apiVersion: 'thinpool.dev/v1alpha1', kind: 'ThinPool', name: 'p', uid: 'uid-p' },
      source: { component: 'thinpool-operator' },
      reportingComponent: 'thinpool-operator',
      reportingInstance: 'replica-1',
    });
    expect(list.find((e) => e.reason === 'CreatedDaemonSet')?.count).toBe(1);
  });

  it('creates a new Event when the one it would bump is gone, and never throws when the API fails', async () => {
    const recorder = new EventRecorder({ client, instance: 'replica-1', logger: testLogger() });
    const pool = thinPool('q');
    await recorder.record(pool, 'Normal', 'Ready', 'ThinPool is ready: 1/1 nodes ready');
    const first = (await events()).find((e) => e.involvedObject.name === 'q');
    await client.delete(`${EVENTS}/${first?.metadata.name}`);
    await recorder.record(pool, 'Normal', 'Ready', 'ThinPool is ready: 1/1 nodes ready');
    const again = (await events()).filter((e) => e.involvedObject.name === 'q');
    expect(again).toHaveLength(1);
    expect(again[0].metadata.name).not.toBe(first?.metadata.name);
    expect(again[0].count).toBe(1);

    api.faults.setErrorRate({ resource: 'events', rate: 1, code: 500 });
    try {
      await expect(recorder.record(pool, 'Warning', 'X', 'y')).resolves.toBeUndefined();
    } finally {
      api.faults.clearErrors();
    }
  });
});
