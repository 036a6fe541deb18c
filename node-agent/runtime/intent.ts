/**
 * From a ThinPool spec to the runtime module's {@link RuntimeIntent}: the API's own defaults (taken from
 * the schema in `api/v1alpha1/schema.ts`, so they are defined once), and validation of every value that
 * reaches a host file or command line.
 */
import type {
  ContainerdRuntimeSpec,
  DockerRuntimeSpec,
  DrainSpec,
  RestartStrategy,
  RuntimeSpec,
} from '../../api/v1alpha1/types.js';
import { thinPoolSpecSchema } from '../../api/v1alpha1/schema.js';
// Not the validation index: it pulls in the CEL interpreter (16 MiB of the in-cluster agent's RSS, ADR 0086).
import { applyDefaults, cloneJson } from '../../api/validation/prune-and-default.js';
import type { JSONSchemaProps } from '../../api/validation/schema-props.js';
import { quantityBytes } from './containerd-toml.js';
import { validateExtraStorageOptions } from './daemon-json.js';
import { dmPoolName } from './dm-name.js';
import type { RuntimeHostOptions, RuntimeIntent } from './types.js';

/**
 * `spec.runtime` as this module reads it: the API's type, with every defaulted field optional (specs
 * written in code, tests, objects from an API server that predates a field); the schema's defaults fill
 * the gaps.
 */
export interface RuntimeSpecInput extends Omit<RuntimeSpec, 'docker' | 'containerd' | 'drain'> {
  docker?: Partial<DockerRuntimeSpec>;
  containerd?: Partial<ContainerdRuntimeSpec>;
  drain?: Partial<DrainSpec>;
}

/** The parts of a ThinPool spec the runtime module reads. */
export interface RuntimeSpecSource {
  volumeGroup: string;
  thinPoolName: string;
  runtime: RuntimeSpecInput;
}

/** The schema of `spec.runtime`: its defaults, enums and bounds are the API's, defined once. */
const RUNTIME_SCHEMA: JSONSchemaProps = thinPoolSpecSchema.properties!['runtime']!;
const RUNTIME_FIELDS = RUNTIME_SCHEMA.properties!;
/** The restart strategies the API accepts. */
const RESTART_STRATEGIES = RUNTIME_FIELDS['restartStrategy']!.enum as readonly RestartStrategy[];
const MIN_FREE_SPACE = RUNTIME_FIELDS['docker']!.properties!['minFreeSpacePercent']!;

/** Fills in the schema's defaults of `spec.runtime` (on a copy), as the API server does. */
function defaultedRuntime(runtime: RuntimeSpecInput): Required<Omit<RuntimeSpec, 'drain'>> {
  const copy = cloneJson({ ...runtime, docker: runtime.docker ?? {}, containerd: runtime.containerd ?? {} });
  applyDefaults(copy, RUNTIME_SCHEMA);
  return copy as Required<Omit<RuntimeSpec, 'drain'>>;
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

/** Applies the API's defaults to the runtime fields (the udev options stay off unless asked for). */
export function runtimeIntentFromSpec(spec: RuntimeSpecSource): RuntimeIntent {
  const runtime = defaultedRuntime(spec.runtime);
  const { docker, containerd } = runtime;
  return {
    type: runtime.type,
    volumeGroup: spec.volumeGroup,
    thinPoolName: spec.thinPoolName,
    restartStrategy: runtime.restartStrategy,
    docker: {
      deferredRemoval: docker.deferredRemoval,
      deferredDeletion: docker.deferredDeletion,
      minFreeSpacePercent: docker.minFreeSpacePercent,
      overrideUdevSyncCheck: docker.overrideUdevSyncCheck,
      extraStorageOptions: docker.extraStorageOptions,
    },
    containerd: {
      rootPath: containerd.rootPath,
      baseImageSize: containerd.baseImageSize,
      discardBlocks: containerd.discardBlocks,
      criDefaultSnapshotter: containerd.criDefaultSnapshotter,
      disableUdev: containerd.disableUdev,
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
  if (!RESTART_STRATEGIES.includes(intent.restartStrategy)) {
    problems.push(`unknown restart strategy ${JSON.stringify(intent.restartStrategy)}`);
  }
  if (intent.type === 'docker') {
    const { minFreeSpacePercent } = intent.docker;
    const [min, max] = [MIN_FREE_SPACE.minimum!, MIN_FREE_SPACE.maximum!];
    if (!Number.isInteger(minFreeSpacePercent) || minFreeSpacePercent < min || minFreeSpacePercent > max) {
      problems.push(
        `docker.minFreeSpacePercent ${minFreeSpacePercent} must be an integer from ${min} to ${max}`,
      );
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
