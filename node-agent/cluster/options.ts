import { FlagReader, parseBindAddress } from '../../common/flags.js';

/** Settings of `thinpool-agent run`, from its flags and the environment the DaemonSet gives it. */
export interface RunOptions {
  help: boolean;
  /**
   * Kubeconfig file (a token, token file or client certificate; no exec plugins); unset: `$KUBECONFIG`,
   * else the in-cluster ServiceAccount.
   */
  kubeconfig?: string;
  /** This node (`NODE_NAME` from the downward API). */
  nodeName: string;
  /** The ThinPool this agent serves (`THINPOOL_NAME`). */
  thinPoolName: string;
  /** Observe-plan-apply at least this often, besides every change of the ThinPool or the Node. */
  intervalMs: number;
  /** Write the status at least this often (`lastHeartbeatTime`) even when nothing changed. */
  heartbeatMs: number;
  /** Where `/metrics`, `/healthz` and `/readyz` listen. */
  bindAddress: { host: string; port: number };
  /** `nsenter` in a pod (commands in the namespaces of PID 1), `local` on a plain host. */
  host: 'nsenter' | 'local';
  /** The host's `/` inside the pod (`THINPOOL_HOST_ROOT`). */
  hostRoot: string;
  /** Wake up on the pool's device-mapper events (`dmsetup wait`), not only on the interval. */
  dmEvents: boolean;
  /** Longest graceful shutdown: the running LVM command gets this long to finish. */
  shutdownTimeoutMs: number;
}

/** Result of {@link parseRunArgs}. */
export type ParsedRunOptions = { ok: true; options: RunOptions } | { ok: false; errors: string[] };

/** Default port of the agent's HTTP endpoints (the operator's `--agent-port` default). */
export const DEFAULT_AGENT_PORT = 9842;

/** Help text of `thinpool-agent run`. */
export const RUN_USAGE = `Usage: thinpool-agent run [flags]

Runs the node agent of one ThinPool on this node (the command of the agent DaemonSet): watches the ThinPool
and the Node, observes, plans and applies on every change and every --interval, writes the node's
ThinPoolNode status, records Events and serves Prometheus metrics.

Environment:
  NODE_NAME                   this node (required unless --node)
  THINPOOL_NAME               the ThinPool to serve (required unless --thinpool)
  THINPOOL_AGENT_PORT         port of /metrics, /healthz, /readyz (default ${DEFAULT_AGENT_PORT})
  THINPOOL_HOST_ROOT          where the host's / is mounted (default /host)

Flags:
  --kubeconfig PATH           kubeconfig file with a token, token file or client certificate
                              (default: $KUBECONFIG, else the in-cluster ServiceAccount)
  --node NAME                 node name (default $NODE_NAME)
  --thinpool NAME             ThinPool name (default $THINPOOL_NAME)
  --interval DURATION         reconcile at least this often (default 10s)
  --heartbeat-interval D      write lastHeartbeatTime at least this often (default 10m)
  --metrics-bind-address A    /metrics, /healthz and /readyz address (default :$THINPOOL_AGENT_PORT)
  --host nsenter|local        run commands in the host's namespaces (default in a pod) or here
  --host-root PATH            the host's / inside the pod (default $THINPOOL_HOST_ROOT, else /host)
  --dm-events[=BOOL]          react to the pool's device-mapper events at once (default true)
  --shutdown-timeout D        longest wait for a running LVM command on SIGTERM (default 110s)
  -h, --help                  show this help
`;

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const BOOLEAN_FLAGS = new Set(['help', 'dm-events']);

/** Parses the arguments of `thinpool-agent run` (after `run`) and the environment. Pure. */
export function parseRunArgs(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): ParsedRunOptions {
  const flags = new FlagReader(argv, BOOLEAN_FLAGS);
  const { errors } = flags;
  const take = (name: string) => flags.take(name);
  const bool = (name: string, fallback: boolean) => flags.bool(name, fallback);
  const duration = (name: string, fallbackMs: number, minMs: number) =>
    flags.duration(name, fallbackMs, minMs);

  const help = bool('help', false);
  const kubeconfig = take('kubeconfig');
  const nodeName = take('node') ?? env.NODE_NAME ?? '';
  if (!nodeName) errors.push('the node name is missing: set NODE_NAME or --node');
  else if (!DNS_SUBDOMAIN.test(nodeName) || nodeName.length > 253) {
    errors.push(`node name "${nodeName}" is not a valid Kubernetes node name`);
  }
  const thinPoolName = take('thinpool') ?? env.THINPOOL_NAME ?? '';
  if (!thinPoolName) errors.push('the ThinPool name is missing: set THINPOOL_NAME or --thinpool');
  else if (!DNS_SUBDOMAIN.test(thinPoolName) || thinPoolName.length > 63) {
    errors.push(`ThinPool name "${thinPoolName}" is not a valid ThinPool name`);
  }
  const portText = env.THINPOOL_AGENT_PORT ?? String(DEFAULT_AGENT_PORT);
  const addressText = take('metrics-bind-address') ?? `:${portText}`;
  const address = parseBindAddress(addressText);
  if (address === undefined || address === 'disabled') {
    errors.push(`--metrics-bind-address: Invalid value "${addressText}": must be host:port or :port`);
  }
  const hostKind = take('host') ?? (env.KUBERNETES_SERVICE_HOST ? 'nsenter' : 'local');
  if (hostKind !== 'nsenter' && hostKind !== 'local') {
    errors.push(`--host: Unsupported value "${hostKind}": must be nsenter or local`);
  }
  const hostRoot = take('host-root') ?? env.THINPOOL_HOST_ROOT ?? '/host';
  if (!hostRoot.startsWith('/') || hostRoot.split('/').some((p) => p === '..')) {
    errors.push(`--host-root: Invalid value "${hostRoot}": must be an absolute path`);
  }
  const options: RunOptions = {
    help,
    kubeconfig,
    nodeName,
    thinPoolName,
    intervalMs: duration('interval', 10_000, 100),
    heartbeatMs: duration('heartbeat-interval', 10 * 60_000, 1000),
    bindAddress: address && address !== 'disabled' ? address : { host: '', port: DEFAULT_AGENT_PORT },
    host: hostKind === 'local' ? 'local' : 'nsenter',
    hostRoot,
    dmEvents: bool('dm-events', true),
    shutdownTimeoutMs: duration('shutdown-timeout', 110_000, 1000),
  };
  flags.reportUnknown();
  if (help) return { ok: true, options };
  return errors.length > 0 ? { ok: false, errors } : { ok: true, options };
}
