/** One observation of a pool's use. */
export interface UsageSample {
  timeMs: number;
  dataUsedBytes: number;
  dataSizeBytes: number;
  metadataUsedBytes: number;
  metadataSizeBytes: number;
}

/** Seconds until data and metadata are full at the recent rate; `Infinity` when not filling. */
export interface TimeToFull {
  data: number;
  metadata: number;
}

/**
 * Estimates the seconds until full from recent samples: a least-squares fill rate over the samples of the
 * last `windowMs`, applied to the free space of the newest sample. Not filling (or too few samples)
 * gives `Infinity`; already full gives 0. Pure.
 */
export function estimateTimeToFull(samples: readonly UsageSample[], windowMs = 10 * 60_000): TimeToFull {
  if (samples.length === 0) return { data: Infinity, metadata: Infinity };
  const newest = samples[samples.length - 1]!;
  const recent = samples.filter((s) => s.timeMs >= newest.timeMs - windowMs);
  const one = (used: (s: UsageSample) => number, size: (s: UsageSample) => number) => {
    const free = size(newest) - used(newest);
    if (free <= 0) return 0;
    const slope = fillRatePerMs(recent, used);
    return slope > 0 ? free / slope / 1000 : Infinity;
  };
  return {
    data: one(
      (s) => s.dataUsedBytes,
      (s) => s.dataSizeBytes,
    ),
    metadata: one(
      (s) => s.metadataUsedBytes,
      (s) => s.metadataSizeBytes,
    ),
  };
}

/** Least-squares slope of `used` over time, bytes per millisecond (0 with fewer than two distinct times). */
export function fillRatePerMs(samples: readonly UsageSample[], used: (s: UsageSample) => number): number {
  if (samples.length < 2) return 0;
  const t0 = samples[0]!.timeMs;
  const n = samples.length;
  let sumT = 0;
  let sumU = 0;
  for (const s of samples) {
    sumT += s.timeMs - t0;
    sumU += used(s);
  }
  const meanT = sumT / n;
  const meanU = sumU / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    const dt = s.timeMs - t0 - meanT;
    num += dt * (used(s) - meanU);
    den += dt * dt;
  }
  return den === 0 ? 0 : num / den;
}

/** Keeps the samples of the last `windowMs` plus the new one (a bounded history for the estimator). */
export function addSample(
  samples: readonly UsageSample[],
  sample: UsageSample,
  windowMs = 10 * 60_000,
): UsageSample[] {
  return [...samples.filter((s) => s.timeMs >= sample.timeMs - windowMs), sample];
}
