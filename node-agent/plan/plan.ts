import type { AgentSpec } from '../agent-spec.js';
import { argv, MANAGED_TAG } from '../lvm/commands.js';
import type { LogicalVolume } from '../lvm/report.js';
import type { Observed, PoolView } from '../observe/observed.js';
import { poolNumbers, poolView } from '../observe/observed.js';
import { formatBytes } from '../../api/quantity.js';
import { command, type Action } from './action.js';
import { planExtensions } from './extend.js';
import { renderProfile } from './profile.js';
import { checkDevice, type DeviceVerdict } from './safety.js';

/** Something the plan noticed that is not an action: a refusal, a limit, a change it will not make. */
export interface Finding {
  /** Condition reason an admin can act on (`DeviceHasFilesystem`, `MonitoringOff`, `ShrinkNotSupported`). */
  code: string;
  message: string;
  /** True when it stops the pool from being built or changed as asked. */
  blocking: boolean;
}

/** Inputs of {@link plan} besides the spec and the observation. */
export interface PlanContext {
  /** Allow threshold-driven extensions (at most once per observation; the engine allows it once per run). */
  autoExtend: boolean;
  /** Run `lvchange --monitor y` when the pool is not monitored (the engine backs off after a failed try). */
  retryMonitoring: boolean;
}

/** The result of planning: ordered actions, device verdicts, findings. */
export interface Plan {
  actions: Action[];
  devices: DeviceVerdict[];
  findings: Finding[];
  /**
   * False when later steps depend on what the host reports after these (a new PV's size, a re-attached
   * loop device's VG): the engine plans again after applying them.
   */
  complete: boolean;
}

const DEFAULT_CONTEXT: PlanContext = { autoExtend: true, retryMonitoring: true };

function isOurHalfBuiltLv(lv: LogicalVolume | undefined): boolean {
  return lv !== undefined && lv.segtype === 'linear' && lv.tags.includes(MANAGED_TAG);
}

/**
 * Plans what makes the node's pool match the spec, from one observation. Pure: each action is
 * idempotent with respect to the state it was planned from, explained in one line, and carries the exact
 * command it runs. Refusals change nothing: a pool that cannot be built safely gets no action at all.
 */
export function plan(spec: AgentSpec, observed: Observed, context: PlanContext = DEFAULT_CONTEXT): Plan {
  const result: Plan = { actions: [], devices: [], findings: [], complete: true };
  const view = poolView(observed.lvm, spec.vg, spec.pool, spec.metadataLv);
  let pvPaths: string[];
  if (spec.mode === 'loop') {
    const loop = planLoopFiles(spec, observed, view, result);
    if (!loop) return result;
    pvPaths = loop;
  } else {
    result.devices = observed.devices.map((d) => checkDevice(spec, d, observed));
    pvPaths = [];
  }
  const refused = result.devices.filter((d) => d.state === 'Refused' || d.state === 'Missing');
  for (const d of refused) {
    result.findings.push({
      code: d.code ?? 'DeviceRefused',
      message: `Refused ${d.reasons.join('; ')}`,
      blocking: true,
    });
  }
  const pending = result.devices.filter((d) => d.state === 'Pending');
  const prepare = (d: DeviceVerdict) => {
    if (d.wipe.length > 0) {
      const types = d.wipe.map((s) => s.type).join(', ');
      result.actions.push(
        command(
          'wipe-signatures',
          `Wipe the ${types} signature of ${d.path} (wipeSignatures is true)`,
          argv.wipeSignatures(d.path),
        ),
      );
    }
    if (!d.orphanPv) {
      result.actions.push(
        command('create-pv', `Create a physical volume on ${d.path}`, argv.pvcreate(d.path)),
      );
    }
  };

  if (!view.vg) {
    // A VG is built from all its devices or not at all: a smaller pool than asked is not what was asked.
    if (refused.length > 0) return result;
    const paths = [...pending.map((d) => d.path), ...pvPaths];
    if (paths.length === 0) return result;
    pending.forEach(prepare);
    result.actions.push(
      command(
        'create-vg',
        `Create volume group ${spec.vg} on ${paths.join(', ')}`,
        argv.vgcreate(spec.vg, paths),
      ),
    );
    planNewPool(spec, view, result);
    return result;
  }

  if (view.vg.partial || view.vg.missingPvCount > 0) {
    result.findings.push({
      code: 'PhysicalVolumeMissing',
      message: `Volume group ${spec.vg} is missing ${view.vg.missingPvCount} physical volume(s)`,
      blocking: true,
    });
  }
  for (const pv of view.pvs) {
    const known = result.devices.some((d) => d.resolved === pv.name) || pvPaths.includes(pv.name);
    if (!known && spec.mode === 'direct') {
      result.findings.push({
        code: 'DeviceNotInSpec',
        message: `${pv.name} is a physical volume of ${spec.vg} but not in the spec; devices are never removed`,
        blocking: false,
      });
    }
  }
  if (pending.length > 0) {
    pending.forEach(prepare);
    const paths = pending.map((d) => d.path);
    result.actions.push(
      command(
        'extend-vg',
        `Add ${paths.join(', ')} to volume group ${spec.vg}`,
        argv.vgextend(spec.vg, paths),
      ),
    );
    result.complete = false;
  }

  const poolLv = view.poolLv;
  if (!poolLv || poolLv.segtype !== 'thin-pool') {
    planNewPool(spec, view, result);
    return result;
  }
  planExistingPool(spec, observed, view, poolLv, context, result);
  return result;
}

function planNewPool(spec: AgentSpec, view: PoolView, result: Plan): void {
  const { vg, pool, metadataLv } = spec;
  if (view.poolLv && !isOurHalfBuiltLv(view.poolLv)) {
    result.findings.push({
      code: 'LogicalVolumeNameTaken',
      message: `Logical volume ${vg}/${pool} exists and is not a thin pool (${view.poolLv.segtype}); it is left alone`,
      blocking: true,
    });
    return;
  }
  if (view.metadataLv && !isOurHalfBuiltLv(view.metadataLv)) {
    result.findings.push({
      code: 'LogicalVolumeNameTaken',
      message: `Logical volume ${vg}/${metadataLv} exists and was not created by the agent; it is left alone`,
      blocking: true,
    });
    return;
  }
  if (!view.poolLv) {
    result.actions.push(
      command(
        'create-data-lv',
        `Create the data volume ${vg}/${pool} with ${spec.dataPercent}% of the volume group`,
        argv.createDataLv(vg, pool, spec.dataPercent),
      ),
    );
  }
  if (!view.metadataLv) {
    result.actions.push(
      command(
        'create-metadata-lv',
        `Create the metadata volume ${vg}/${metadataLv} with ${spec.metadataPercent}% of the volume group`,
        argv.createDataLv(vg, metadataLv, spec.metadataPercent),
      ),
    );
  }
  result.actions.push(
    command(
      'convert-to-thin-pool',
      `Convert ${vg}/${pool} and ${vg}/${metadataLv} into a thin pool (chunk ${formatBytes(spec.chunkBytes)}, zeroing ${spec.zeroing ? 'on' : 'off'})`,
      argv.convertToThinPool(vg, pool, metadataLv, spec.chunkBytes, spec.zeroing),
    ),
  );
  planProfile(spec, undefined, undefined, result);
  result.actions.push(
    command('enable-monitoring', `Enable dmeventd monitoring of ${vg}/${pool}`, argv.monitor(vg, pool)),
  );
}

function planProfile(
  spec: AgentSpec,
  profileContent: string | undefined,
  attached: string | undefined,
  result: Plan,
) {
  const content = renderProfile(spec);
  if (profileContent !== content) {
    result.actions.push({
      kind: 'write-profile',
      explanation: `Write the LVM profile ${spec.profilePath} (autoextend at ${spec.autoExtend.thresholdPercent}% by ${spec.autoExtend.extendPercent}%)`,
      step: { type: 'write-file', path: spec.profilePath, content, mode: 0o644 },
    });
  }
  if (attached !== spec.profileName) {
    result.actions.push(
      command(
        'attach-profile',
        `Attach the metadata profile ${spec.profileName} to ${spec.vg}/${spec.pool}`,
        argv.attachProfile(spec.vg, spec.pool, spec.profileName),
      ),
    );
  }
}

function planExistingPool(
  spec: AgentSpec,
  observed: Observed,
  view: PoolView,
  poolLv: LogicalVolume,
  context: PlanContext,
  result: Plan,
): void {
  const { vg, pool } = spec;
  const numbers = poolNumbers(poolLv);
  if (numbers.chunkSizeBytes !== spec.chunkBytes) {
    result.findings.push({
      code: 'ChunkSizeImmutable',
      message: `Thin pool ${vg}/${pool} has chunk size ${formatBytes(numbers.chunkSizeBytes)}, the spec asks ${formatBytes(spec.chunkBytes)}; a pool's chunk size cannot change`,
      blocking: false,
    });
  }
  if (numbers.zeroing !== spec.zeroing) {
    result.actions.push(
      command(
        'set-zeroing',
        `Turn zeroing of new blocks ${spec.zeroing ? 'on' : 'off'} for ${vg}/${pool}`,
        argv.setZeroing(vg, pool, spec.zeroing),
      ),
    );
  }
  planProfile(spec, observed.profileContent, poolLv.profile, result);
  if (!numbers.active) {
    result.actions.push(
      command(
        'activate-pool',
        `Activate thin pool ${vg}/${pool} (inactive, e.g. after a reboot)`,
        argv.activate(vg, pool),
      ),
    );
    // Activation turns monitoring on and makes the usage readable: the rest is planned after it.
    result.complete = false;
    return;
  }
  // Extensions come first: a filling pool matters more than monitoring, which may be unavailable.
  if (!result.complete) return;
  const extensions = planExtensions(
    spec,
    view.vg!,
    numbers,
    view.spareLv?.sizeBytes ?? 0,
    context.autoExtend,
  );
  result.actions.push(...extensions.actions);
  result.findings.push(...extensions.findings);
  if (!numbers.monitored) {
    if (context.retryMonitoring) {
      result.actions.push(
        command(
          'enable-monitoring',
          `Enable dmeventd monitoring of ${vg}/${pool} (it is ${numbers.monitor || 'off'})`,
          argv.monitor(vg, pool),
        ),
      );
    } else {
      result.findings.push({
        code: 'MonitoringOff',
        message: `dmeventd does not monitor ${vg}/${pool} (${numbers.monitor || 'off'}); the agent extends the pool itself`,
        blocking: false,
      });
    }
  }
}

/**
 * Loop-lvm: the backing files exist, have their size, and are attached. Returns the loop devices to use
 * as PVs when the LVM steps can be planned now, `undefined` when they must wait for the next round.
 */
function planLoopFiles(
  spec: AgentSpec,
  observed: Observed,
  view: PoolView,
  result: Plan,
): string[] | undefined {
  const loop = spec.loop!;
  const files = observed.loop?.files ?? [];
  if (!observed.loop?.directory.exists) {
    if (view.vg) {
      result.findings.push({
        code: 'LoopFileMissing',
        message: `Directory ${loop.directory} is missing but volume group ${spec.vg} exists`,
        blocking: true,
      });
      return undefined;
    }
    result.actions.push(
      command('create-directory', `Create directory ${loop.directory}`, argv.mkdir(loop.directory)),
    );
  } else if (observed.loop.directory.type !== 'directory') {
    result.findings.push({
      code: 'LoopDirectoryInvalid',
      message: `${loop.directory} is not a directory`,
      blocking: true,
    });
    return undefined;
  }
  const used = new Set(observed.loopDevices.map((d) => d.name));
  const free = observed.blockDevices.devices
    .filter(
      (d) => d.type === 'loop' && d.sizeBytes === 0 && !used.has(d.name) && /^\/dev\/loop\d+$/.test(d.name),
    )
    .map((d) => d.name)
    .sort((a, b) => Number(a.slice(9)) - Number(b.slice(9)));
  const devices: string[] = [];
  let waitForAttach = false;
  for (const file of files) {
    const want = file.role === 'data' ? loop.dataBytes : loop.metadataBytes;
    let fresh = false;
    if (!file.stat.exists) {
      if (view.vg) {
        result.findings.push({
          code: 'LoopFileMissing',
          message: `Backing file ${file.path} is missing but volume group ${spec.vg} exists; nothing is recreated`,
          blocking: true,
        });
        return undefined;
      }
      result.actions.push(
        command(
          'create-loop-file',
          `Create the sparse ${file.role} file ${file.path} (${formatBytes(want)})`,
          argv.truncate(file.path, want),
        ),
      );
      fresh = true;
    } else if (file.stat.type !== 'file') {
      result.findings.push({
        code: 'LoopFileInvalid',
        message: `${file.path} is not a regular file`,
        blocking: true,
      });
      return undefined;
    } else if (file.stat.sizeBytes > want) {
      result.findings.push({
        code: 'ShrinkNotSupported',
        message: `${file.path} is ${formatBytes(file.stat.sizeBytes)}, the spec asks ${formatBytes(want)}; shrinking is never done`,
        blocking: false,
      });
    } else if (file.stat.sizeBytes < want) {
      result.actions.push(
        command(
          'grow-loop-file',
          `Grow ${file.path} from ${formatBytes(file.stat.sizeBytes)} to ${formatBytes(want)}`,
          argv.truncate(file.path, want),
        ),
      );
      if (file.device) {
        result.actions.push(
          command(
            'refresh-loop',
            `Make ${file.device} see the new size of ${file.path}`,
            argv.refreshLoop(file.device),
          ),
        );
        if (view.pvs.some((p) => p.name === file.device)) {
          result.actions.push(
            command(
              'resize-pv',
              `Grow the physical volume ${file.device} to the new size`,
              argv.pvresize(file.device),
            ),
          );
        }
        result.complete = false;
      }
    }
    let device = file.device;
    if (!device) {
      device = free.shift();
      if (device) {
        result.actions.push(
          command('attach-loop', `Attach ${file.path} to ${device}`, argv.attachLoop(device, file.path)),
        );
      } else {
        result.actions.push(
          command(
            'attach-loop',
            `Attach ${file.path} to a new loop device`,
            argv.attachLoopAnywhere(file.path),
          ),
        );
      }
      // A file we did not just create may carry a VG (after a reboot) or anything else: look before using it.
      if (!fresh || !device) waitForAttach = true;
    }
    if (device) {
      devices.push(device);
      const inVg = view.pvs.some((p) => p.name === device);
      const verdict: DeviceVerdict = {
        path: device,
        resolved: device,
        state: inVg ? 'InUse' : 'Pending',
        sizeBytes: Math.max(file.stat.exists ? file.stat.sizeBytes : 0, want),
        reasons: [],
        wipe: [],
        orphanPv: observed.lvm.pvs.some((p) => p.name === device && p.vgName === ''),
      };
      const foreign = observed.lvm.pvs.find(
        (p) => p.name === device && p.vgName !== '' && p.vgName !== spec.vg,
      );
      if (foreign) {
        verdict.state = 'Refused';
        verdict.code = 'DeviceInOtherVolumeGroup';
        verdict.reasons.push(
          `${device} (${file.path}) is a physical volume of volume group ${foreign.vgName}`,
        );
      }
      for (const signature of file.signatures ?? []) {
        if (signature.usage === 'lvm') continue;
        if (spec.wipeSignatures && verdict.state !== 'Refused') verdict.wipe.push(signature);
        else {
          verdict.state = 'Refused';
          verdict.code ??= 'DeviceHasSignature';
          verdict.reasons.push(
            `${device} (${file.path}) has an ${signature.type} signature (${signature.usage})`,
          );
        }
      }
      result.devices.push(verdict);
    }
  }
  if (waitForAttach) {
    result.complete = false;
    return undefined;
  }
  return [];
}
