/**
 * The thinpool.dev/v1alpha1 API as TypeScript types. The OpenAPI schema (with defaults and CEL rules)
 * lives beside it in `schema.ts`; `make crds` renders both into `crds/*.yaml`.
 *
 * Types describe an object *after* defaulting: fields with a schema default are not optional here,
 * except where a field is optional by design (`maxDataSize`, `devices` / `loop`) and
 * `runtime.restartStrategy`, which came later: specs written in code before it existed stay valid, and
 * readers take {@link RuntimeSpec.restartStrategy} `?? 'Auto'` (the schema default).
 */

/** API group of every kind in this project. */
export const GROUP = 'thinpool.dev';
/** API version of this module. */
export const VERSION = 'v1alpha1';
/** `apiVersion` string for objects of this version. */
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Minimal object metadata, the subset of `metav1.ObjectMeta` our code reads and writes. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

/** `metav1.OwnerReference`. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** `core/v1.Toleration`. */
export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

/** `metav1.Condition`. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

/** One block device of a direct-lvm pool. */
export interface DeviceSpec {
  /** Absolute path under `/dev/` (`/dev/disk/by-id/...` recommended: stable across reboots). */
  path: string;
}

/** Loop-lvm source (testing only): sparse files attached as loop devices. */
export interface LoopSpec {
  /** Absolute host directory for the backing files. */
  directory: string;
  /** Size of the data file, a Kubernetes quantity ("10Gi"). Growing it grows the pool. */
  dataSize: string;
  /** Size of the metadata file, a Kubernetes quantity ("200Mi"). */
  metadataSize: string;
}

/** Agent-driven and dmeventd-driven autoextend settings (written into the LVM profile). */
export interface AutoExtendSpec {
  /** Extend when data (or metadata) use passes this percentage, 50..100 (100 disables). Default 80. */
  thresholdPercent: number;
  /** Grow by this percentage of the current size, 1..100. Default 20. */
  extendPercent: number;
  /** Never grow data beyond this size (a Kubernetes quantity). Unset: bounded only by VG free space. */
  maxDataSize?: string;
  /** Extend metadata too. Default true. */
  metadata: boolean;
}

/** Container runtime that consumes the pool. */
export type RuntimeType = 'none' | 'docker' | 'containerd';

/** Docker `devicemapper` storage driver options. */
export interface DockerRuntimeSpec {
  /** `dm.use_deferred_removal`. Default true. */
  deferredRemoval: boolean;
  /** `dm.use_deferred_deletion`. Default true. */
  deferredDeletion: boolean;
  /** `dm.min_free_space` in percent, 0..99. Default 10. */
  minFreeSpacePercent: number;
  /**
   * `dm.override_udev_sync_check=true`. Only for hosts without udev (minimal images, the test VM), where
   * Docker refuses devicemapper without it. Default false: an opt-in, never a silent default.
   */
  overrideUdevSyncCheck: boolean;
  /**
   * Further `dm.<key>=<value>` storage options, passed to Docker as written (`dm.basesize=20G`). Never a
   * key set from its own field, nor Docker's own direct-lvm options. Default `[]`.
   */
  extraStorageOptions: string[];
}

/** containerd `devmapper` snapshotter options. */
export interface ContainerdRuntimeSpec {
  /** `root_path` of the snapshotter's metadata. Default `/var/lib/containerd/devmapper`. */
  rootPath: string;
  /** `base_image_size` (a quantity, e.g. "10Gi"). Default "10Gi". */
  baseImageSize: string;
  /** `discard_blocks`: discard the blocks of removed snapshots, returning them to the pool. Default true. */
  discardBlocks: boolean;
  /** Also make devmapper the CRI plugin's default snapshotter (Kubernetes pods use the pool). Default false. */
  criDefaultSnapshotter: boolean;
  /**
   * Start containerd with `DM_DISABLE_UDEV=1`. Only for hosts without udev, where `dmsetup` would wait for
   * device nodes that never appear. Default false: an opt-in, never a silent default.
   */
  disableUdev: boolean;
}

/**
 * How the agent's host-side one-shot restarts the runtime: `Systemd` (`systemctl`, the one-shot in a
 * transient unit), `InitScript` (`/etc/init.d/<runtime>`), `Signal` (SIGTERM, then the same command line
 * again), or `Auto`: the first of those the host supports, in that order.
 */
export type RestartStrategy = 'Auto' | 'Systemd' | 'InitScript' | 'Signal';

/** How the switch to the pool is rolled across nodes. */
export interface DrainSpec {
  /** Cordon and evict pods before switching a node's runtime. Default false. */
  enabled: boolean;
  /** Nodes switched at the same time. Default 1. */
  maxUnavailable: number;
}

/** Runtime configuration. */
export interface RuntimeSpec {
  type: RuntimeType;
  /** How the runtime is restarted on the host. The API server always fills in `Auto`; see the file header. */
  restartStrategy?: RestartStrategy;
  docker?: DockerRuntimeSpec;
  containerd?: ContainerdRuntimeSpec;
  drain: DrainSpec;
}

/** `Apply` changes hosts; `Plan` only reports the exact commands the agent would run. */
export type Mode = 'Apply' | 'Plan';
/** What happens to the pools on the hosts when the ThinPool is deleted. */
export type DeletionPolicy = 'Retain' | 'Delete';

/** Desired state of a ThinPool. */
export interface ThinPoolSpec {
  /** Labels a Node must carry to get the pool. Empty: every node. */
  nodeSelector?: Record<string, string>;
  /** Tolerations for the agent pods. */
  tolerations?: Toleration[];
  /** LVM volume group name. Default `docker`. Immutable. */
  volumeGroup: string;
  /** Thin pool LV name. Default `thinpool`. Immutable. */
  thinPoolName: string;
  /** Direct-lvm: block devices. Exactly one of `devices` and `loop`. */
  devices?: DeviceSpec[];
  /** Loop-lvm (testing only). Exactly one of `devices` and `loop`. */
  loop?: LoopSpec;
  /** Wipe existing signatures (`wipefs --all`) instead of refusing the device. Default false. */
  wipeSignatures: boolean;
  /** Data LV size in percent of the VG. Default 95. */
  dataPercent: number;
  /** Metadata LV size in percent of the VG. Default 1. */
  metadataPercent: number;
  /** Pool chunk size, a multiple of 64Ki between 64Ki and 1Gi. Default "512Ki". */
  chunkSize: string;
  /** Zero new blocks (`--zero y`). Default false. */
  zeroing: boolean;
  autoExtend: AutoExtendSpec;
  runtime: RuntimeSpec;
  mode: Mode;
  deletionPolicy: DeletionPolicy;
  /** Stop acting (observation and status continue). Default false. */
  paused: boolean;
}

/** Node counts of a ThinPool. */
export interface NodeCounts {
  desired: number;
  ready: number;
  failed: number;
}

/** Summed capacity in bytes. */
export interface Capacity {
  dataSizeBytes: number;
  dataUsedBytes: number;
  metadataSizeBytes: number;
  metadataUsedBytes: number;
  /** Highest data use of any node in percent, 0..100 (the `Data%` column). */
  dataUsedPercent?: number;
  /** Highest metadata use of any node in percent, 0..100 (the `Metadata%` column). */
  metadataUsedPercent?: number;
}

/** A node that is not Ready, with why. */
export interface FailingNode {
  node: string;
  reason: string;
  message: string;
}

/** Observed state of a ThinPool, aggregated by the operator. */
export interface ThinPoolStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  nodes?: NodeCounts;
  capacity?: Capacity;
  failingNodes?: FailingNode[];
}

/** The `ThinPool` kind (cluster-scoped). */
export interface ThinPool {
  apiVersion: typeof API_VERSION;
  kind: 'ThinPool';
  metadata: ObjectMeta;
  spec: ThinPoolSpec;
  status?: ThinPoolStatus;
}

/**
 * The operator's word on a node's runtime switch (`ThinPoolNode.spec.runtimeSwitch`): `Draining` while it
 * cordons the node and evicts its pods (the agent keeps waiting), `Allowed` once the agent may switch.
 * Unset: the node's turn has not come; an agent that would have to switch waits (`AwaitingRollout`).
 */
export type RuntimeSwitch = 'Draining' | 'Allowed';

/** Identity of a ThinPoolNode, and the operator's permission for its runtime switch. */
export interface ThinPoolNodeSpec {
  thinPool: string;
  nodeName: string;
  /** Written by the operator's rollout only (see {@link RuntimeSwitch}). */
  runtimeSwitch?: RuntimeSwitch;
}

/** Coarse lifecycle of a node's pool. */
export type ThinPoolNodePhase =
  'Pending' | 'Planned' | 'Provisioning' | 'Ready' | 'Failed' | 'Deleting' | 'Deleted';

/** One device as the agent sees it. */
export interface DeviceStatus {
  path: string;
  sizeBytes: number;
  /** `InUse` (a PV of our VG), `Pending`, `Refused`, `Missing`. */
  state: 'InUse' | 'Pending' | 'Refused' | 'Missing';
}

/** A device the agent will not touch, and why. */
export interface ExcludedDevice {
  path: string;
  reason: string;
}

/** The most recent extension the agent (or dmeventd, as observed) performed. */
export interface LastExtension {
  time: string;
  kind: 'data' | 'metadata';
  fromBytes: number;
  toBytes: number;
  /** `threshold` (usage passed autoExtend.thresholdPercent), `device-added`, `spec-size`, `dmeventd`. */
  trigger: string;
}

/** Observed state of one node's pool, written by its agent. */
export interface ThinPoolNodeStatus {
  phase?: ThinPoolNodePhase;
  conditions?: Condition[];
  devices?: DeviceStatus[];
  excludedDevices?: ExcludedDevice[];
  volumeGroup?: { sizeBytes: number; freeBytes: number };
  pool?: {
    dataSizeBytes: number;
    dataUsedBytes: number;
    metadataSizeBytes: number;
    metadataUsedBytes: number;
    chunkSizeBytes: number;
    /** Data use in percent, 0..100 (the `Data%` column). */
    dataUsedPercent?: number;
    /** Metadata use in percent, 0..100 (the `Metadata%` column). */
    metadataUsedPercent?: number;
    active: boolean;
    monitored: boolean;
  };
  lastExtension?: LastExtension;
  secondsToFull?: { data?: number; metadata?: number };
  /** Plan mode: the commands the agent would run, one command line per entry. */
  plan?: string[];
  runtime?: { type: RuntimeType; configured: boolean; message?: string };
  lastHeartbeatTime?: string;
  observedGeneration?: number;
}

/** The `ThinPoolNode` kind (cluster-scoped, named `<pool>.<node>`, owned by its ThinPool). */
export interface ThinPoolNode {
  apiVersion: typeof API_VERSION;
  kind: 'ThinPoolNode';
  metadata: ObjectMeta;
  spec: ThinPoolNodeSpec;
  status?: ThinPoolNodeStatus;
}

/** Condition types of a ThinPool. */
export const ThinPoolConditions = {
  Ready: 'Ready',
  Progressing: 'Progressing',
  Degraded: 'Degraded',
  /** Only with `runtime.type` docker or containerd: how the node-by-node runtime switch stands. */
  RuntimeRollout: 'RuntimeRollout',
} as const;
/** Condition types of a ThinPoolNode. */
export const ThinPoolNodeConditions = {
  DevicesReady: 'DevicesReady',
  PoolReady: 'PoolReady',
  Monitored: 'Monitored',
  RuntimeConfigured: 'RuntimeConfigured',
  Ready: 'Ready',
} as const;

/**
 * `RuntimeConfigured` reason of an agent that would switch its node's runtime but waits for the operator to
 * allow its node (`spec.runtimeSwitch: Allowed`).
 */
export const AWAITING_ROLLOUT = 'AwaitingRollout';

/** Finalizer the operator puts on every ThinPool. */
export const CLEANUP_FINALIZER = 'thinpool.dev/cleanup';

/** Name of the ThinPoolNode for a pool on a node. */
export function thinPoolNodeName(thinPool: string, nodeName: string): string {
  return `${thinPool}.${nodeName}`;
}
