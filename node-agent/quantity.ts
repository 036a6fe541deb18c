/**
 * Kubernetes quantities as bytes, the subset a size field uses. Kept here until the shared
 * `api/quantity.ts` lands, then replaced by it.
 */
const SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  Pi: 1024 ** 5,
};

/** Parses "512Ki", "10Gi", "1G", "1048576" into bytes; throws on anything else or a fraction of a byte. */
export function parseQuantityBytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/.exec(quantity.trim());
  if (!match) throw new Error(`${JSON.stringify(quantity)} is not a size quantity such as 512Ki or 10Gi`);
  const bytes = Number(match[1]) * SUFFIX[match[2] ?? '']!;
  if (!Number.isSafeInteger(bytes))
    throw new Error(`${JSON.stringify(quantity)} is not a whole number of bytes`);
  return bytes;
}

/** Formats bytes for messages: "95.0 GiB", "512.0 MiB", "4096 B". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 'B';
  for (const u of units) {
    if (Math.abs(value) < 1024) break;
    value /= 1024;
    unit = u;
  }
  return unit === 'B' ? `${bytes} B` : `${value.toFixed(1)} ${unit}`;
}
