import { createHash } from 'node:crypto';

/** Name of the agent everywhere it appears (DaemonSet prefix, `app.kubernetes.io/name`). */
export const AGENT_NAME = 'thinpool-agent';
/** Value of `app.kubernetes.io/managed-by` on everything the operator creates. */
export const MANAGER_NAME = 'thinpool-operator';

/** Labels the operator puts on what it creates. */
export const Labels = {
  name: 'app.kubernetes.io/name',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
  /** The ThinPool an agent Pod, DaemonSet or ThinPoolNode belongs to (see {@link labelValue}). */
  pool: 'thinpool.dev/pool',
  /** The node of a ThinPoolNode (see {@link labelValue}). */
  node: 'thinpool.dev/node',
} as const;

/** `app.kubernetes.io/component` of agent Pods (the chart's PodMonitor selects on it). */
export const AGENT_COMPONENT = 'agent';

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 10);
}

/**
 * A label value that stands for `name`: the name itself when it is a valid label value (at most 63
 * characters), else a readable prefix plus a hash, so long ThinPool or node names still get a unique,
 * valid label.
 */
export function labelValue(name: string): string {
  if (name.length <= 63 && LABEL_VALUE.test(name)) return name;
  const prefix = name
    .slice(0, 52)
    .replace(/[^-A-Za-z0-9_.]/g, '-')
    .replace(/[^A-Za-z0-9]+$/, '');
  return prefix ? `${prefix}-${shortHash(name)}` : shortHash(name);
}

/**
 * Name of the agent DaemonSet of a ThinPool: `thinpool-agent-<pool>`, shortened with a hash when needed so
 * that the Pod names the DaemonSet controller derives from it stay valid DNS labels.
 */
export function daemonSetName(thinPool: string): string {
  const name = `${AGENT_NAME}-${thinPool}`;
  if (name.length <= 57) return name;
  return `${name.slice(0, 46).replace(/[^a-z0-9]+$/, '')}-${shortHash(thinPool)}`;
}

/** Longest object name kube-apiserver accepts (DNS-1123 subdomain). */
export const MAX_NAME_LENGTH = 253;
