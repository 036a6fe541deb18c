/**
 * From a ThinPool spec to the runtime module's {@link RuntimeIntent}: defaults for the fields this module
 * proposes to the API (they are optional here until the API carries them), and validation of every value
 * that reaches a host file or command line.
 */
import type { ContainerdRuntimeSpec, DockerRuntimeSpec, RuntimeSpec } from '../../api/v1alpha1/types.js';
import { quantityBytes } from './containerd-toml.js';
import { validateExtraStorageOptions } from './daemon-json.js';
import { dmPoolName } from './dm-name.js';
import type { RestartStrategy, RuntimeHostOptions, RuntimeIntent } from './types.js';

/** Docker fields proposed for the API (`spec.runtime.docker`). */
export interface ProposedDockerFields {
  /** `dm.override_udev_sync_check=true`, for hosts without udev. Default false. */
  overrideUdevSyncCheck?: boolean;
  /** Further `dm.*` storage options (`dm.basesize=20G`). Default none. */
  extraStorageOptions?: string[];
}

/** containerd fields proposed for the API (`spec.runtime.containerd`). */
export interface ProposedContainerdFields {
  /** `discard_blocks`. Default true. */
  discardBlocks?: boolean;
  /** Make devmapper the CRI plugin's default snapshotter. Default false. */
  criDefaultSnapshotter?: boolean;
  /** Start containerd with `DM_DISABLE_UDEV=1`, for hosts without udev. Default false. */
  disableUdev?: boolean;
}

/** `spec.runtime` as this module reads it: today's API plus the proposed optional fields. */
export interface RuntimeSpecInput extends Omit<RuntimeSpec, 'docker' | 'containerd' | 'drain'> {
  docker?: Partial<DockerRuntimeSpec> & ProposedDockerFields;
  containerd?: Partial<ContainerdRuntimeSpec> & ProposedContainerdFields;
  /** How the runtime is restarted (proposed `spec.runtime.restartStrategy`). Default `Auto`. */
  restartStrategy?: RestartStrategy;
}

/** The parts of a ThinPool spec the runtime module reads. */
export interface RuntimeSpecSource {
  volumeGroup: string;
  thinPoolName: string;
  runtime: RuntimeSpecInput;
}

/** Defaults of the agent's host options: Debian's paths, state under `/var/lib/thinpool-agent`. */
export const DEFAULT_RUNTIME_HOST_OPTIONS: RuntimeHostOptions = {
  dockerConfigPath: '/etc/docker/daemon.json',
  containerdConfigPath: '/etc/containerd/config.toml',
  dockerCli: '/usr/bin/docker',
  dockerdBinary: '/usr/sbin/dockerd',
  containerdBinary: '/usr/bin/containerd',
  ctrCli: '/usr/bin/ctr',
  containerdAddress: '/run/containerd/containerd.sock',
  initScriptDir: '/etc/init.d',
  stateDir: '/var/lib/thinpool-agent/runtime',
  restartTimeoutSeconds: 120,
};

/** Applies the defaults of the runtime fields (API defaults plus the proposed fields). */
export function runtimeIntentFromSpec(spec: RuntimeSpecSource): RuntimeIntent {
  const docker = spec.runtime.docker ?? {};
  const containerd = spec.runtime.containerd ?? {};
  return {
    type: spec.runtime.type,
    volumeGroup: spec.volumeGroup,
    thinPoolName: spec.thinPoolName,
    restartStrategy: spec.runtime.restartStrategy ?? 'Auto',
    docker: {
      deferredRemoval: docker.deferredRemoval ?? true,
      deferredDeletion: docker.deferredDeletion ?? true,
      minFreeSpacePercent: docker.minFreeSpacePercent ?? 10,
      overrideUdevSyncCheck: docker.overrideUdevSyncCheck ?? false,
      extraStorageOptions: docker.extraStorageOptions ?? [],
    },
    containerd: {
      rootPath: containerd.rootPath ?? '/var/lib/containerd/devmapper',
      baseImageSize: containerd.baseImageSize ?? '10Gi',
      discardBlocks: containerd.discardBlocks ?? true,
      criDefaultSnapshotter: containerd.criDefaultSnapshotter ?? false,
      disableUdev: containerd.disableUdev ?? false,
    },
  };
}

/** An absolute, normalised host path that is safe on a command line and in a config file. */
const SAFE_PATH = /^\/[A-Za-z0-9._@+/-]*$/;

/** Checks a host path: absolute, no `.`/`..` segments, no whitespace or shell-special characters. */
export function pathProblem(what: string, path: string): string | undefined {
  const segments = path.split('/').slice(1);
  if (!SAFE_PATH.test(path) || segments.some((s) => s === '.' || s === '..' || s === '') || path === '/') {
    return `${what} ${JSON.stringify(path)} must be an absolute, normalised path of letters, digits and . _ @ + - /`;
  }
  return undefined;
}

/** Validates an intent; returns every problem found (empty when it is usable). */
export function validateRuntimeIntent(intent: RuntimeIntent): string[] {
  if (intent.type === 'none') return [];
  const problems: string[] = [];
  try {
    dmPoolName(intent.volumeGroup, intent.thinPoolName);
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (!['Auto', 'Systemd', 'InitScript', 'Signal'].includes(intent.restartStrategy)) {
    problems.push(`unknown restart strategy ${JSON.stringify(intent.restartStrategy)}`);
  }
  if (intent.type === 'docker') {
    const { minFreeSpacePercent } = intent.docker;
    if (!Number.isInteger(minFreeSpacePercent) || minFreeSpacePercent < 0 || minFreeSpacePercent > 99) {
      problems.push(`docker.minFreeSpacePercent ${minFreeSpacePercent} must be an integer from 0 to 99`);
    }
    problems.push(...validateExtraStorageOptions(intent.docker.extraStorageOptions));
  } else {
    const rootProblem = pathProblem('containerd.rootPath', intent.containerd.rootPath);
    if (rootProblem) problems.push(rootProblem);
    try {
      quantityBytes(intent.containerd.baseImageSize);
    } catch (err) {
      problems.push(`containerd.baseImageSize: ${(err as Error).message}`);
    }
  }
  return problems;
}

/** Validates the agent's host options (they reach command lines); returns the problems found. */
export function validateHostOptions(options: RuntimeHostOptions): string[] {
  const paths: [string, string][] = [
    ['dockerConfigPath', options.dockerConfigPath],
    ['containerdConfigPath', options.containerdConfigPath],
    ['dockerCli', options.dockerCli],
    ['dockerdBinary', options.dockerdBinary],
    ['containerdBinary', options.containerdBinary],
    ['ctrCli', options.ctrCli],
    ['containerdAddress', options.containerdAddress],
    ['initScriptDir', options.initScriptDir],
    ['stateDir', options.stateDir],
  ];
  const problems = paths.map(([what, path]) => pathProblem(what, path)).filter((p): p is string => !!p);
  if (!Number.isInteger(options.restartTimeoutSeconds) || options.restartTimeoutSeconds < 5) {
    problems.push(`restartTimeoutSeconds ${options.restartTimeoutSeconds} must be an integer of at least 5`);
  }
  return problems;
}
