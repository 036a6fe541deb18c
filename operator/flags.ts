import {
  DEFAULT_LEADER_ELECTION_TIMINGS,
  validateTimings,
  type LeaderElectionTimings,
} from './runtime/leader-election.js';
import { FlagReader, parseBindAddress } from '../common/flags.js';
import { DEFAULT_SETTINGS, type OperatorSettings } from './controller/settings.js';

export { parseBindAddress, parseDuration } from '../common/flags.js';

/** Everything `thinpool-operator` takes from its command line and environment. */
export interface OperatorFlags {
  help: boolean;
  kubeconfig?: string;
  settings: OperatorSettings;
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  leaderElect: boolean;
  leaseName: string;
  timings: LeaderElectionTimings;
  workers: number;
  batchPeriodMs: number;
  shutdownTimeoutMs: number;
}

/** The result of {@link parseFlags}: flags, or the problems found. */
export type ParsedFlags = { ok: true; flags: OperatorFlags } | { ok: false; errors: string[] };

/** Help text of `thinpool-operator --help`. */
export const USAGE = `Usage: thinpool-operator [flags]

Reconciles ThinPool resources into node-agent DaemonSets and aggregates ThinPoolNode status.

Flags:
  --kubeconfig PATH                  kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --namespace NS                     namespace of the agent DaemonSets and the Lease
                                     (default: $POD_NAMESPACE, else thinpool-system)
  --agent-image IMAGE                agent image (default: $THINPOOL_AGENT_IMAGE, else ${DEFAULT_SETTINGS.agentImage})
  --agent-image-pull-policy POLICY   Always | IfNotPresent | Never (default IfNotPresent)
  --agent-service-account NAME       ServiceAccount of the agent Pods (default thinpool-agent)
  --agent-port PORT                  agent /metrics, /healthz, /readyz port (default 9842)
  --agent-priority-class NAME        priority class of the agent Pods (default system-node-critical)
  --agent-not-ready-grace DURATION   an agent not Ready this long fails its node (default 3m)
  --drain-retry DURATION             while a runtime rollout drains a node, look at its Pods again (evictions a
                                     PodDisruptionBudget refused) this often; at least 100ms (default 5s)
  --metrics-bind-address ADDR        /metrics listen address, "0" disables (default :8080)
  --health-probe-bind-address ADDR   /healthz and /readyz listen address, "0" disables (default :8081)
  --leader-elect[=BOOL]              use a Lease so only one replica reconciles (default true)
  --leader-elect-lease-name NAME     Lease name (default thinpool-operator-leader)
  --leader-elect-lease-duration D    default 15s
  --leader-elect-renew-deadline D    default 10s
  --leader-elect-retry-period D      default 2s
  --workers N                        ThinPools reconciled in parallel (default 2)
  --status-batch-period DURATION     fold agent reports within this period into one reconcile (default 200ms)
  --shutdown-timeout DURATION        longest graceful shutdown (default 25s)
  -h, --help                         show this help
`;

/** Shortest `--drain-retry`. */
const MIN_DRAIN_RETRY_MS = 100;

const BOOLEAN_FLAGS = new Set(['help', 'leader-elect']);

/** Parses `argv` (without the program) and the environment. */
export function parseFlags(
  argv: readonly string[],
  env: Record<string, string | undefined> = {},
): ParsedFlags {
  const flags = new FlagReader(argv, BOOLEAN_FLAGS);
  const { errors } = flags;
  const take = (name: string) => flags.take(name);
  const bool = (name: string, fallback: boolean) => flags.bool(name, fallback);
  const duration = (name: string, fallbackMs: number) => flags.duration(name, fallbackMs);
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const value = take(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      errors.push(`--${name}: Invalid value "${value}": must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
  const address = (name: string, fallback: string): string => {
    const value = take(name) ?? fallback;
    if (parseBindAddress(value) === undefined) {
      errors.push(`--${name}: Invalid value "${value}": must be host:port, :port or 0`);
    }
    return value;
  };

  const help = bool('help', false);
  const kubeconfig = take('kubeconfig');
  const namespace = take('namespace') ?? env.POD_NAMESPACE ?? DEFAULT_SETTINGS.namespace;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63) {
    errors.push(`--namespace: Invalid value "${namespace}": must be a DNS-1123 label`);
  }
  const agentImage = take('agent-image') ?? env.THINPOOL_AGENT_IMAGE ?? DEFAULT_SETTINGS.agentImage;
  if (agentImage === '' || /\s/.test(agentImage)) errors.push(`--agent-image: Invalid value "${agentImage}"`);
  const pullPolicy = take('agent-image-pull-policy') ?? DEFAULT_SETTINGS.agentImagePullPolicy;
  if (!['Always', 'IfNotPresent', 'Never'].includes(pullPolicy)) {
    errors.push(
      `--agent-image-pull-policy: Unsupported value "${pullPolicy}": must be Always, IfNotPresent or Never`,
    );
  }
  const settings: OperatorSettings = {
    ...DEFAULT_SETTINGS,
    namespace,
    agentImage,
    agentImagePullPolicy: pullPolicy as OperatorSettings['agentImagePullPolicy'],
    agentServiceAccount: take('agent-service-account') ?? DEFAULT_SETTINGS.agentServiceAccount,
    agentPort: integer('agent-port', DEFAULT_SETTINGS.agentPort, 1, 65535),
    agentPriorityClassName: take('agent-priority-class') ?? DEFAULT_SETTINGS.agentPriorityClassName,
    agentNotReadyGraceMs: duration('agent-not-ready-grace', DEFAULT_SETTINGS.agentNotReadyGraceMs),
    // A floor, so that a typo such as 0s cannot make the operator hammer the Eviction API.
    drainRetryMs: flags.duration('drain-retry', DEFAULT_SETTINGS.drainRetryMs, MIN_DRAIN_RETRY_MS),
  };
  const timings: LeaderElectionTimings = {
    leaseDurationMs: duration('leader-elect-lease-duration', DEFAULT_LEADER_ELECTION_TIMINGS.leaseDurationMs),
    renewDeadlineMs: duration('leader-elect-renew-deadline', DEFAULT_LEADER_ELECTION_TIMINGS.renewDeadlineMs),
    retryPeriodMs: duration('leader-elect-retry-period', DEFAULT_LEADER_ELECTION_TIMINGS.retryPeriodMs),
  };
  const leaderElect = bool('leader-elect', true);
  if (leaderElect) errors.push(...validateTimings(timings).map((p) => `leader election: ${p}`));
  const parsed: OperatorFlags = {
    help,
    kubeconfig,
    settings,
    metricsBindAddress: address('metrics-bind-address', ':8080'),
    healthProbeBindAddress: address('health-probe-bind-address', ':8081'),
    leaderElect,
    leaseName: take('leader-elect-lease-name') ?? 'thinpool-operator-leader',
    timings,
    workers: integer('workers', 2, 1, 64),
    batchPeriodMs: duration('status-batch-period', 200),
    shutdownTimeoutMs: duration('shutdown-timeout', 25_000),
  };
  flags.reportUnknown();
  return errors.length > 0 && !help ? { ok: false, errors } : { ok: true, flags: parsed };
}
