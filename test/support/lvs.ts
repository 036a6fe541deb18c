import type { Host } from '../../node-agent/host/host.js';

/** One LV as `lvs` reports it (JSON, bytes), read independently of the agent's parsers. */
export interface LvsRow {
  lv_name: string;
  lv_size: string;
  lv_attr: string;
  lv_metadata_size: string;
  chunk_size: string;
  lv_profile: string;
  zero: string;
  seg_monitor: string;
  data_percent: string;
  metadata_percent: string;
}

const COLUMNS: (keyof LvsRow)[] = [
  'lv_name',
  'lv_size',
  'lv_attr',
  'lv_metadata_size',
  'chunk_size',
  'lv_profile',
  'zero',
  'seg_monitor',
  'data_percent',
  'metadata_percent',
];

/**
 * Reads one LV with `lvs --reportformat json --units b --nosuffix` (the VM suites' own check, not the
 * agent's report); `undefined` when it does not exist.
 */
export async function findLv(host: Host, lv: string): Promise<LvsRow | undefined> {
  const result = await host.run(
    ['lvs', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-o', COLUMNS.join(','), lv],
    { okExitCodes: [0, 5] },
  );
  if (result.exitCode !== 0) return undefined;
  const doc = JSON.parse(result.stdout) as { report: { lv: LvsRow[] }[] };
  return doc.report[0]?.lv[0];
}
