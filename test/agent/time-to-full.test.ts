import { describe, expect, it } from '@jest/globals';
import { addSample, estimateTimeToFull, type UsageSample } from '../../node-agent/time-to-full.js';

const sample = (timeMs: number, dataUsedBytes: number, metadataUsedBytes = 100): UsageSample => ({
  timeMs,
  dataUsedBytes,
  dataSizeBytes: 1000,
  metadataUsedBytes,
  metadataSizeBytes: 200,
});

describe('estimateTimeToFull', () => {
  it('extrapolates a steady fill to the free space', () => {
    // 10 bytes per second, 600 bytes used of 1000: 40 s left
    const samples = [sample(0, 500), sample(5_000, 550), sample(10_000, 600)];
    expect(estimateTimeToFull(samples)).toEqual({ data: 40, metadata: Infinity });
  });

  it('fits a least-squares rate through noisy samples', () => {
    const samples = [
      sample(0, 100, 10),
      sample(1_000, 130, 12),
      sample(2_000, 120, 14),
      sample(3_000, 160, 16),
    ];
    const { data, metadata } = estimateTimeToFull(samples);
    // slope 17 B/s over data; 2 B/s over metadata (184 free)
    expect(data).toBeCloseTo(840 / 17, 5);
    expect(metadata).toBeCloseTo(92, 5);
  });

  it('is infinite when not filling, with one sample, or with none', () => {
    expect(estimateTimeToFull([sample(0, 500), sample(1_000, 400)]).data).toBe(Infinity);
    expect(estimateTimeToFull([sample(0, 500)]).data).toBe(Infinity);
    expect(estimateTimeToFull([]).data).toBe(Infinity);
  });

  it('is zero when already full', () => {
    expect(estimateTimeToFull([sample(0, 1000), sample(1000, 1000)]).data).toBe(0);
  });

  it('only uses samples of the window', () => {
    const samples = [sample(0, 0), sample(1_000_000, 900), sample(1_001_000, 901)];
    expect(estimateTimeToFull(samples, 10_000).data).toBeCloseTo(99, 5);
  });
});

describe('addSample', () => {
  it('drops samples older than the window', () => {
    expect(addSample([sample(0, 1), sample(50, 2)], sample(100, 3), 60).map((s) => s.timeMs)).toEqual([
      50, 100,
    ]);
  });
});
