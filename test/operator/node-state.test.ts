import { describe, expect, it } from '@jest/globals';
import { classifyNode, currentAgentPod } from '../../operator/controller/node-state.js';
import { agentPod, failedStatus, readyStatus, thinPool, thinPoolNode } from './support/fixtures.js';

const NOW = Date.parse('2025-01-01T00:10:00Z');
const options = { generation: 1, nowMs: NOW, agentNotReadyGraceMs: 180_000 };
const pool = thinPool('p');

describe('classifyNode', () => {
  it('is ready only when the agent reports Ready and its Pod is Ready', () => {
    const tpn = thinPoolNode(pool, 'n1', readyStatus(1000));
    expect(
      classifyNode({ nodeName: 'n1', thinPoolNode: tpn, agentPods: [agentPod('p', 'n1', true)] }, options),
    ).toMatchObject({
      state: 'ready',
      upToDate: true,
    });
  });

  it('counts a node whose agent Pod is not Ready as not ready, then failed after the grace period', () => {
    const tpn = thinPoolNode(pool, 'n1', readyStatus(1000));
    const recent = agentPod('p', 'n1', false, '2025-01-01T00:09:00Z');
    expect(classifyNode({ nodeName: 'n1', thinPoolNode: tpn, agentPods: [recent] }, options)).toMatchObject({
      state: 'pending',
      reason: 'AgentNotReady',
      recheckAtMs: Date.parse('2025-01-01T00:12:00Z'),
    });
    const old = agentPod('p', 'n1', false, '2025-01-01T00:01:00Z');
    const verdict = classifyNode({ nodeName: 'n1', thinPoolNode: tpn, agentPods: [old] }, options);
    expect(verdict).toMatchObject({ state: 'failed', reason: 'AgentNotReady' });
    expect(verdict.message).toContain('containers with unready status');
  });

  it('fails a node whose agent reports a failure, with the agent reason', () => {
    const tpn = thinPoolNode(
      pool,
      'n1',
      failedStatus('DeviceHasFilesystem', '/dev/sdb carries an ext4 signature'),
    );
    expect(
      classifyNode({ nodeName: 'n1', thinPoolNode: tpn, agentPods: [agentPod('p', 'n1', true)] }, options),
    ).toEqual({
      nodeName: 'n1',
      state: 'failed',
      reason: 'DeviceHasFilesystem',
      message: '/dev/sdb carries an ext4 signature',
      upToDate: true,
    });
  });

  it('is pending before the ThinPoolNode exists, before the agent reports, and while it provisions', () => {
    expect(classifyNode({ nodeName: 'n1', agentPods: [] }, options)).toMatchObject({
      state: 'pending',
      reason: 'Pending',
    });
    const empty = thinPoolNode(pool, 'n1');
    expect(
      classifyNode({ nodeName: 'n1', thinPoolNode: empty, agentPods: [agentPod('p', 'n1', true)] }, options),
    ).toMatchObject({
      state: 'pending',
      reason: 'AwaitingAgent',
    });
    const provisioning = thinPoolNode(pool, 'n1', {
      phase: 'Provisioning',
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'CreatingPool',
          message: 'Creating thin pool',
          lastTransitionTime: '2025-01-01T00:00:00Z',
        },
      ],
    });
    expect(
      classifyNode(
        { nodeName: 'n1', thinPoolNode: provisioning, agentPods: [agentPod('p', 'n1', true)] },
        options,
      ),
    ).toMatchObject({
      state: 'pending',
      reason: 'CreatingPool',
    });
  });

  it('fails a node with no agent Pod once the grace period after the ThinPoolNode was created ends', () => {
    const tpn = thinPoolNode(pool, 'n1', readyStatus(1000));
    expect(classifyNode({ nodeName: 'n1', thinPoolNode: tpn, agentPods: [] }, options)).toMatchObject({
      state: 'failed',
      reason: 'AgentNotScheduled',
    });
  });

  it('marks a node that has not applied the current generation as not up to date', () => {
    const tpn = thinPoolNode(pool, 'n1', readyStatus(1000, 1));
    const verdict = classifyNode(
      { nodeName: 'n1', thinPoolNode: tpn, agentPods: [agentPod('p', 'n1', true)] },
      { ...options, generation: 2 },
    );
    expect(verdict).toMatchObject({ state: 'ready', upToDate: false });
  });
});

describe('currentAgentPod', () => {
  it('prefers a Ready Pod, then the newest one not being deleted', () => {
    const old = agentPod('p', 'n1', false, '2025-01-01T00:00:00Z');
    const terminating = {
      ...agentPod('p', 'n1', true, '2025-01-01T00:00:00Z'),
      metadata: { ...old.metadata, name: 'term', deletionTimestamp: '2025-01-01T00:05:00Z' },
    };
    const fresh = {
      ...agentPod('p', 'n1', false, '2025-01-01T00:05:00Z'),
      metadata: { ...old.metadata, name: 'fresh', creationTimestamp: '2025-01-01T00:05:00Z' },
    };
    expect(currentAgentPod([old, terminating, fresh])?.metadata.name).toBe('fresh');
    const ready = { ...agentPod('p', 'n1', true), metadata: { ...old.metadata, name: 'ready' } };
    expect(currentAgentPod([old, ready, fresh])?.metadata.name).toBe('ready');
    expect(currentAgentPod([])).toBeUndefined();
  });
});
