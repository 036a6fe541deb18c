import { describe, expect, it } from '@jest/globals';
import {
  heldByOther,
  microTime,
  nextLeaseSpec,
  validateTimings,
} from '../../operator/runtime/leader-election.js';

const T0 = Date.parse('2025-01-01T00:00:00Z');

describe('leader election decisions (client-go algorithm)', () => {
  it('takes a free or fresh Lease with transitions counted from the previous holder', () => {
    expect(nextLeaseSpec(undefined, 'me', T0, 15_000)).toEqual({
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: '2025-01-01T00:00:00.000000Z',
      renewTime: '2025-01-01T00:00:00.000000Z',
      leaseTransitions: 0,
    });
    const other = { holderIdentity: 'other', acquireTime: microTime(T0 - 60_000), leaseTransitions: 4 };
    expect(nextLeaseSpec(other, 'me', T0, 15_000)).toMatchObject({
      holderIdentity: 'me',
      leaseTransitions: 5,
      acquireTime: microTime(T0),
    });
  });

  it('keeps acquire time and transitions when the holder renews', () => {
    const mine = {
      holderIdentity: 'me',
      acquireTime: microTime(T0 - 60_000),
      renewTime: microTime(T0 - 2000),
      leaseTransitions: 2,
    };
    expect(nextLeaseSpec(mine, 'me', T0, 15_000)).toEqual({
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: microTime(T0 - 60_000),
      renewTime: microTime(T0),
      leaseTransitions: 2,
    });
  });

  it('measures expiry from when this replica last saw the record change, not the remote renewTime', () => {
    const record = { holderIdentity: 'other', renewTime: microTime(T0 - 3_600_000) };
    expect(heldByOther(record, 'me', T0, T0 + 14_999, 15_000)).toBe(true);
    expect(heldByOther(record, 'me', T0, T0 + 15_000, 15_000)).toBe(false);
    expect(heldByOther({ holderIdentity: '' }, 'me', T0, T0, 15_000)).toBe(false);
    expect(heldByOther({ holderIdentity: 'me' }, 'me', T0, T0, 15_000)).toBe(false);
  });

  it('enforces client-go constraints on the timings', () => {
    expect(
      validateTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }),
    ).toEqual([]);
    expect(
      validateTimings({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }),
    ).toEqual(['leaseDuration must be greater than renewDeadline']);
    expect(
      validateTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }),
    ).toEqual(['renewDeadline must be greater than retryPeriod*JitterFactor (1.2)']);
  });

  it('writes MicroTime with microseconds', () => {
    expect(microTime(Date.parse('2025-03-04T05:06:07.891Z'))).toBe('2025-03-04T05:06:07.891000Z');
  });
});
