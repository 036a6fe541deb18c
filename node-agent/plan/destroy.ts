import type { AgentSpec } from '../agent-spec.js';
import { argv } from '../lvm/commands.js';
import type { Observed } from '../observe/observed.js';
import { poolView } from '../observe/observed.js';
import { command } from './action.js';
import type { Finding, Plan } from './plan.js';

/**
 * Plans tearing the pool down: `lvremove` the pool (with its thin LVs), `vgremove`, `pvremove`, detach the
 * loop devices and remove their files, remove the profile. Only what the spec names is touched; a VG with
 * LVs that are not the pool's, or a thin LV in use, blocks the whole teardown. Each step is skipped when
 * already done, so an interrupted teardown resumes. Pure; the caller checks `deletionPolicy`.
 */
export function planDestroy(spec: AgentSpec, observed: Observed): Plan {
  const result: Plan = { actions: [], devices: [], findings: [], complete: true };
  const view = poolView(observed.lvm, spec.vg, spec.pool, spec.metadataLv);
  const block = (code: string, message: string) =>
    result.findings.push({ code, message, blocking: true } satisfies Finding);
  if (view.vg) {
    const foreign = view.otherLvs.filter((l) => !l.hidden);
    if (foreign.length > 0) {
      block(
        'VolumeGroupHasOtherVolumes',
        `Volume group ${spec.vg} holds ${foreign.map((l) => l.name).join(', ')}, which are not the pool's; nothing is removed`,
      );
    }
    // The pool LV itself reads as open while thin LVs are active; only its thin LVs tell real use.
    const busy = view.thinLvs.filter((l) => l.open);
    const mounted = observed.blockDevices.devices.filter(
      (d) =>
        d.type === 'lvm' && d.mountpoints.length > 0 && d.name.startsWith(`/dev/mapper/${dmName(spec.vg)}-`),
    );
    if (busy.length > 0 || mounted.length > 0) {
      const names = [
        ...busy.map((l) => `${spec.vg}/${l.name}`),
        ...mounted.map((d) => `${d.name} at ${d.mountpoints.join(', ')}`),
      ];
      block(
        'PoolInUse',
        `Thin pool ${spec.vg}/${spec.pool} is in use (${names.join('; ')}); stop its users first`,
      );
    }
    if (result.findings.length > 0) return result;
    if (view.poolLv || view.metadataLv) {
      if (view.poolLv) {
        result.actions.push(
          command(
            'remove-pool',
            `Remove thin pool ${spec.vg}/${spec.pool} and its ${view.thinLvs.length} thin volume(s)`,
            argv.removePool(spec.vg, spec.pool),
          ),
        );
      }
      if (view.metadataLv) {
        result.actions.push(
          command(
            'remove-pool',
            `Remove the unconverted metadata volume ${spec.vg}/${spec.metadataLv}`,
            argv.removePool(spec.vg, spec.metadataLv),
          ),
        );
      }
    }
    result.actions.push(command('remove-vg', `Remove volume group ${spec.vg}`, argv.removeVg(spec.vg)));
  }
  const pvNames = new Set(view.pvs.map((p) => p.name));
  const orphanPv = (name: string) => observed.lvm.pvs.some((p) => p.name === name && p.vgName === '');
  if (spec.mode === 'direct') {
    for (const device of observed.devices) {
      if (pvNames.has(device.resolved) || orphanPv(device.resolved)) {
        result.actions.push(
          command(
            'remove-pv',
            `Remove the physical volume label from ${device.path}`,
            argv.removePv(device.path),
          ),
        );
      }
    }
  } else {
    for (const file of observed.loop?.files ?? []) {
      if (file.device) {
        if (pvNames.has(file.device) || orphanPv(file.device)) {
          result.actions.push(
            command(
              'remove-pv',
              `Remove the physical volume label from ${file.device}`,
              argv.removePv(file.device),
            ),
          );
        }
        result.actions.push(
          command('detach-loop', `Detach ${file.device} from ${file.path}`, argv.detachLoop(file.device)),
        );
      }
      if (file.stat.exists) {
        result.actions.push(
          command('remove-file', `Remove the ${file.role} file ${file.path}`, argv.removeFile(file.path)),
        );
      }
    }
  }
  if (observed.profileContent !== undefined) {
    result.actions.push(
      command('remove-file', `Remove the LVM profile ${spec.profilePath}`, argv.removeFile(spec.profilePath)),
    );
  }
  return result;
}

/** Device-mapper name of a VG or LV: hyphens doubled. */
export function dmName(name: string): string {
  return name.replace(/-/g, '--');
}
