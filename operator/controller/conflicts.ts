import type { ThinPool } from '../../api/v1alpha1/types.js';
import type { NodeObject } from './kube-types.js';
import { eligibilityOf } from './node-selection.js';

/** Why a ThinPool is refused: an older ThinPool claims the same thing on some of the same nodes. */
export interface PoolConflict {
  /** The older ThinPool that keeps its claim. */
  other: string;
  /** The nodes both select, sorted. */
  nodes: string[];
  /** What both claim, in words ("volume group docker"). */
  claim: string;
}

/** Older first: by `creationTimestamp`, then by name (RFC 3339 UTC timestamps sort as strings). */
export function byAge(a: ThinPool, b: ThinPool): number {
  const at = a.metadata.creationTimestamp ?? '';
  const bt = b.metadata.creationTimestamp ?? '';
  if (at !== bt) return at < bt ? -1 : 1;
  const an = a.metadata.name ?? '';
  const bn = b.metadata.name ?? '';
  return an < bn ? -1 : an > bn ? 1 : 0;
}

/** What two ThinPools both claim on a node they share, if anything. */
function sharedClaim(a: ThinPool, b: ThinPool): string | undefined {
  if (a.spec.volumeGroup === b.spec.volumeGroup) {
    return a.spec.thinPoolName === b.spec.thinPoolName
      ? `thin pool ${a.spec.volumeGroup}/${a.spec.thinPoolName}`
      : `volume group ${a.spec.volumeGroup}`;
  }
  const runtime = a.spec.runtime?.type ?? 'none';
  if (runtime !== 'none' && runtime === (b.spec.runtime?.type ?? 'none')) return `the ${runtime} runtime`;
  return undefined;
}

/**
 * Finds the ThinPools the operator must refuse (pure). Two ThinPools conflict when some node is selected by
 * both and they name the same volume group (two agents would manage one volume group, and two runtimes could
 * end up on one pool) or configure the same container runtime (two agents would rewrite one daemon.json or
 * config.toml). Going from the oldest ThinPool to the newest, each one is checked against the ThinPools
 * accepted so far: the newer of two conflicting ones is refused as a whole, so a refused ThinPool never
 * blocks a third one. Returns the refused ThinPools by name, each with the older ThinPool it yields to.
 */
export function findPoolConflicts(
  thinPools: readonly ThinPool[],
  nodes: readonly NodeObject[],
): Map<string, PoolConflict> {
  const refused = new Map<string, PoolConflict>();
  if (thinPools.length < 2) return refused;
  const accepted: Array<{ thinPool: ThinPool; nodes: Set<string> }> = [];
  for (const thinPool of [...thinPools].sort(byAge)) {
    const selected = new Set(nodes.filter(eligibilityOf(thinPool)).map((n) => n.metadata.name ?? ''));
    let conflict: PoolConflict | undefined;
    for (const older of accepted) {
      const claim = sharedClaim(older.thinPool, thinPool);
      if (!claim) continue;
      const shared = [...selected].filter((n) => older.nodes.has(n)).sort();
      if (shared.length === 0) continue;
      conflict = { other: older.thinPool.metadata.name ?? '', nodes: shared, claim };
      break;
    }
    if (conflict) refused.set(thinPool.metadata.name ?? '', conflict);
    else accepted.push({ thinPool, nodes: selected });
  }
  return refused;
}

/** The message of a refused ThinPool's `Ready` condition and Event. */
export function conflictMessage(thinPool: string, conflict: PoolConflict): string {
  const shown = conflict.nodes.slice(0, 5).join(', ');
  const more = conflict.nodes.length > 5 ? ` and ${conflict.nodes.length - 5} more` : '';
  return (
    `ThinPool ${thinPool} claims ${conflict.claim}, like the older ThinPool ${conflict.other}, on ` +
    `${conflict.nodes.length === 1 ? 'node' : 'nodes'} ${shown}${more}: refused (no agents run for it) so ` +
    `that two agents never manage one volume group or runtime; change its volumeGroup, runtime or ` +
    `nodeSelector, or delete one of the two`
  );
}
