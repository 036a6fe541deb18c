/**
 * Leader election on a real Lease in the API emulator. Each replica has its own manual clock, so the test
 * decides exactly when each one acts: a replica whose clock stands still is a crashed leader.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { KubeClient } from '../../common/kube/kube-client.js';
import { LeaderElector, type Lease } from '../../operator/runtime/leader-election.js';
import { startApiServer, type RunningApiServer } from '../support/kube-apiserver/index.js';
import { eventually, testLogger } from './support/harness.js';
import { ManualClock } from './support/manual-clock.js';

jest.setTimeout(60_000);

const T0 = Date.parse('2025-01-01T00:00:00Z');
const LEASE_MS = 15_000;
const RETRY_MS = 2_000;

let api: RunningApiServer;
let client: KubeClient;
let leaseCounter = 0;

beforeAll(async () => {
  api = await startApiServer();
  client = new KubeClient(api.kubeConfig());
});

afterAll(async () => {
  await api?.stop();
});

interface Replica {
  elector: LeaderElector;
  clock: ManualClock;
  abort: AbortController;
  run: Promise<string>;
  startedAt?: number;
  stopped?: string;
}

function replica(identity: string, leaseName: string): Replica {
  const clock = new ManualClock(T0);
  const abort = new AbortController();
  const r = {} as Replica;
  r.clock = clock;
  r.abort = abort;
  r.elector = new LeaderElector({
    client,
    namespace: 'default',
    name: leaseName,
    identity,
    clock,
    logger: testLogger(),
    onStartedLeading: () => (r.startedAt = clock.now()),
    onStoppedLeading: (reason) => (r.stopped = reason),
  });
  r.run = r.elector.run(abort.signal);
  return r;
}

/** Advances a replica's clock by `ms` and waits until its attempt (a real HTTP call) is done. */
async function tick(r: Replica, ms: number): Promise<void> {
  await r.clock.advance(ms);
  await eventually(() => r.clock.pending > 0 || r.stopped !== undefined, 'the attempt to finish');
}

async function lease(name: string): Promise<Lease> {
  return client.get<Lease>(`/apis/coordination.k8s.io/v1/namespaces/default/leases/${name}`);
}

describe('LeaderElector on a Lease', () => {
  it('lets a standby take over a crashed leader once the lease expires by its own clock, never earlier', async () => {
    const name = `lock-${leaseCounter++}`;
    const a = replica('a', name);
    await eventually(() => a.elector.isLeader, 'a to lead');
    expect(a.startedAt).toBe(T0);
    expect((await lease(name)).spec).toMatchObject({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
    });

    const b = replica('b', name);
    await eventually(() => b.elector.observedLeader === 'a' && b.clock.pending > 0, 'b to see a as leader');
    // a's clock stands still from now on: it never renews, like a killed process. b's clock jumps to each
    // of its retries and waits there for the attempt (a real HTTP round trip) to finish.
    while (b.startedAt === undefined) {
      await tick(b, b.clock.nextDueIn ?? 0);
      if (b.startedAt === undefined) expect(b.clock.now() - T0).toBeLessThan(LEASE_MS);
    }
    expect(b.startedAt - T0).toBeGreaterThanOrEqual(LEASE_MS);
    expect(b.startedAt - T0).toBeLessThan(LEASE_MS + RETRY_MS * 1.2);
    expect((await lease(name)).spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });

    // The old leader wakes up: its renewal conflicts, it sees b and stops leading at once.
    await a.clock.advance(RETRY_MS);
    expect(await a.run).toBe('lost');
    expect(a.stopped).toBe('lost');
    expect(a.elector.isLeader).toBe(false);
    expect((await lease(name)).spec?.holderIdentity).toBe('b');

    b.abort.abort();
    expect(await b.run).toBe('released');
  });

  it('renews every retry period while leading, keeping acquireTime and counting no transition', async () => {
    const name = `lock-${leaseCounter++}`;
    const a = replica('a', name);
    await eventually(() => a.elector.isLeader, 'a to lead');
    const acquired = (await lease(name)).spec;
    for (let i = 0; i < 3; i++) await tick(a, RETRY_MS);
    const renewed = (await lease(name)).spec;
    expect(renewed?.acquireTime).toBe(acquired?.acquireTime);
    expect(Date.parse(renewed?.renewTime ?? '') - T0).toBe(3 * RETRY_MS);
    expect(renewed?.leaseTransitions).toBe(0);
    a.abort.abort();
    expect(await a.run).toBe('released');
  });

  it('releases the Lease on a graceful stop, so a standby takes over without waiting for expiry', async () => {
    const name = `lock-${leaseCounter++}`;
    const a = replica('a', name);
    await eventually(() => a.elector.isLeader, 'a to lead');
    a.abort.abort();
    expect(await a.run).toBe('released');
    expect(a.stopped).toBe('released');
    expect((await lease(name)).spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });

    const b = replica('b', name);
    await eventually(() => b.elector.isLeader, 'b to lead at its first attempt');
    expect(b.startedAt).toBe(T0);
    b.abort.abort();
    await b.run;
  });

  it('gives up leadership when it cannot renew within the renew deadline', async () => {
    const name = `lock-${leaseCounter++}`;
    const a = replica('a', name);
    await eventually(() => a.elector.isLeader, 'a to lead');
    api.faults.setErrorRate({ resource: 'leases', rate: 1, code: 500 });
    try {
      for (let i = 0; i < 4 && !a.stopped; i++) await tick(a, RETRY_MS);
      expect(a.stopped).toBeUndefined();
      await tick(a, RETRY_MS);
      expect(a.stopped).toBe('lost');
      expect(await a.run).toBe('lost');
    } finally {
      api.faults.clearErrors();
    }
  });
});
