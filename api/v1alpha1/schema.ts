/**
 * The OpenAPI v3 structural schemas of `ThinPool` and `ThinPoolNode` (thinpool.dev/v1alpha1), with every
 * default and CEL rule. This is the single source of the API's validation: `crds.ts` wraps it into the
 * CustomResourceDefinitions, `make crds` renders them to YAML, and `api/validation` applies it to
 * objects (API emulator, the agent's standalone mode, tests). The TypeScript shapes are in `types.ts`.
 */
import type { JSONSchemaProps, ValidationRule } from '../validation/index.js';

/** LVM names (VG, LV) we accept: LVM's own character set minus `+`, no leading `-` or `.`. */
const LVM_NAME_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]*$';
/** Device paths: under /dev/, segments of safe characters only (no spaces, quotes, `$`, `;`, `*`, ...). */
export const DEVICE_PATH_PATTERN = '^/dev/[A-Za-z0-9_][A-Za-z0-9_.:-]*(/[A-Za-z0-9_][A-Za-z0-9_.:-]*)*$';
/** Absolute host directories: one or more `/segment`, safe characters only, no trailing slash. */
export const HOST_DIRECTORY_PATTERN = '^(/[A-Za-z0-9_.:@+-]+)+$';
/** Byte sizes as Kubernetes quantities without sign, exponent or milli: "10Gi", "1.5G", "512Ki", "1048576". */
export const BYTE_QUANTITY_PATTERN = '^[0-9]+([.][0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$';
/** RFC 1123 DNS label (Kubernetes object names without dots). */
const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** RFC 1123 DNS subdomain (node names). */
const DNS_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** Label values: empty, or alphanumerics with `-`, `_`, `.` inside. */
const LABEL_VALUE_PATTERN = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';

/** An extra Docker storage option: a `dm.` key of lowercase letters, digits and `_`, `=`, a one-line value. */
export const DOCKER_STORAGE_OPTION_PATTERN = '^dm\\.[a-z0-9_]+=[^\\n\\r]*$';
/** Storage options the agent sets from their own spec fields (or from the pool): not allowed as extras. */
export const MANAGED_DOCKER_STORAGE_OPTIONS = [
  'dm.thinpooldev',
  'dm.use_deferred_removal',
  'dm.use_deferred_deletion',
  'dm.min_free_space',
  'dm.override_udev_sync_check',
] as const;
/** Key prefixes of Docker's own direct-lvm setup, which Docker refuses together with `dm.thinpooldev`. */
export const DOCKER_DIRECT_LVM_OPTION_PREFIXES = ['dm.directlvm_device', 'dm.thinp_'] as const;

/** A CEL list literal of strings (`['a', 'b']`) from values that hold no quote. */
function celStringList(values: readonly string[]): string {
  return `[${values.map((value) => `'${value}'`).join(', ')}]`;
}

/** Substrings LVM reserves in LV names for its hidden sub-volumes. */
const RESERVED_LV_SUBSTRINGS = [
  '_cdata', '_cmeta', '_corig', '_cpool', '_cvol', '_imeta', '_iorig', '_mimage', '_mlog', '_pmspare',
  '_rimage', '_rmeta', '_tdata', '_tmeta', '_vdata', '_vorigin', '_wcorig',
]; // prettier-ignore

/** A rule that makes a field unchangeable once created. */
function immutable(field: string): ValidationRule {
  return { rule: 'self == oldSelf', message: `${field} is immutable` };
}

/** A byte-size quantity string with CEL bounds; `min`/`max` are quantities ("128Mi"). */
function byteQuantity(
  description: string,
  field: string,
  bounds: { min: string; max?: string },
  extra: { default?: string; rules?: ValidationRule[] } = {},
): JSONSchemaProps {
  const range = bounds.max
    ? `quantity(self).compareTo(quantity('${bounds.min}')) >= 0 && quantity(self).compareTo(quantity('${bounds.max}')) <= 0`
    : `quantity(self).compareTo(quantity('${bounds.min}')) >= 0`;
  return {
    type: 'string',
    description,
    ...(extra.default !== undefined ? { default: extra.default } : {}),
    maxLength: 32,
    pattern: BYTE_QUANTITY_PATTERN,
    'x-kubernetes-validations': [
      {
        // The pattern reports malformed text; the range check only runs on quantities.
        rule: `!isQuantity(self) || (${range})`,
        message: bounds.max
          ? `${field} must be between ${bounds.min} and ${bounds.max}`
          : `${field} must be at least ${bounds.min}`,
      },
      ...(extra.rules ?? []),
    ],
  };
}

/** A rule that lets a size only grow. */
function cannotShrink(field: string): ValidationRule {
  return {
    rule: '!isQuantity(self) || !isQuantity(oldSelf) || quantity(self).compareTo(quantity(oldSelf)) >= 0',
    message: `${field} cannot shrink`,
  };
}

/** An absolute host path with the rules every path from a spec obeys. */
function hostDirectory(
  description: string,
  field: string,
  extra: { default?: string; rules?: ValidationRule[] } = {},
): JSONSchemaProps {
  return {
    type: 'string',
    description,
    ...(extra.default !== undefined ? { default: extra.default } : {}),
    minLength: 2,
    maxLength: 255,
    pattern: HOST_DIRECTORY_PATTERN,
    'x-kubernetes-validations': [
      {
        rule: "self.split('/').all(s, s != '.' && s != '..')",
        message: `${field} must not contain . or .. segments`,
      },
      {
        rule: "!['/proc', '/sys', '/dev', '/run'].exists(p, self == p || self.startsWith(p + '/'))",
        message: `${field} must not be under /proc, /sys, /dev or /run`,
      },
      ...(extra.rules ?? []),
    ],
  };
}

const int64 = (description: string): JSONSchemaProps => ({
  type: 'integer',
  format: 'int64',
  minimum: 0,
  description,
});

const count = (description: string): JSONSchemaProps => ({
  type: 'integer',
  format: 'int32',
  minimum: 0,
  description,
});

const percentUsed = (description: string): JSONSchemaProps => ({
  type: 'number',
  minimum: 0,
  maximum: 100,
  description,
});

/** `metav1.Condition` as controller-gen emits it, as a list-map keyed by `type`. */
function conditions(description: string): JSONSchemaProps {
  return {
    type: 'array',
    description,
    maxItems: 16,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
    items: {
      type: 'object',
      description: 'Condition contains details for one aspect of the current state of this API Resource.',
      required: ['lastTransitionTime', 'message', 'reason', 'status', 'type'],
      properties: {
        lastTransitionTime: {
          type: 'string',
          format: 'date-time',
          description: 'Last time the condition transitioned from one status to another.',
        },
        message: {
          type: 'string',
          maxLength: 32768,
          description: 'Human readable message about the transition.',
        },
        observedGeneration: int64('The .metadata.generation the condition was set based upon.'),
        reason: {
          type: 'string',
          minLength: 1,
          maxLength: 1024,
          pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
          description: "Programmatic identifier of the condition's last transition, in CamelCase.",
        },
        status: {
          type: 'string',
          enum: ['True', 'False', 'Unknown'],
          description: 'Status of the condition.',
        },
        type: {
          type: 'string',
          maxLength: 316,
          pattern:
            '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
          description: 'Type of condition in CamelCase.',
        },
      },
    },
  };
}

const apiVersionProperty: JSONSchemaProps = {
  type: 'string',
  description:
    'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values.',
};
const kindProperty: JSONSchemaProps = {
  type: 'string',
  description:
    'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. In CamelCase.',
};

const tolerationSchema: JSONSchemaProps = {
  type: 'object',
  description: 'A core/v1 Toleration for the agent pods.',
  properties: {
    key: {
      type: 'string',
      maxLength: 316,
      description: 'Taint key; empty with operator Exists matches all.',
    },
    operator: {
      type: 'string',
      enum: ['Exists', 'Equal'],
      description: 'Exists or Equal (Kubernetes default Equal).',
    },
    value: { type: 'string', maxLength: 63, description: 'Taint value for operator Equal.' },
    effect: {
      type: 'string',
      enum: ['', 'NoSchedule', 'PreferNoSchedule', 'NoExecute'],
      description: 'Taint effect to match; empty matches all effects.',
    },
    tolerationSeconds: {
      type: 'integer',
      format: 'int64',
      description: 'How long a NoExecute taint is tolerated; unset tolerates forever.',
    },
  },
  'x-kubernetes-validations': [
    {
      rule: "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
      message: 'toleration value must be empty when operator is Exists',
    },
    {
      rule: "(has(self.key) && self.key != '') || (has(self.operator) && self.operator == 'Exists')",
      message: 'a toleration without key must use operator Exists',
    },
    {
      rule: "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
      message: 'tolerationSeconds is only allowed with effect NoExecute',
    },
  ],
};

const lvmName = (description: string, defaultValue: string, field: string, extra: ValidationRule[] = []) => ({
  type: 'string' as const,
  description,
  default: defaultValue,
  minLength: 1,
  maxLength: 63,
  pattern: LVM_NAME_PATTERN,
  'x-kubernetes-validations': [immutable(field), ...extra],
});

/** `ThinPool.spec`. */
export const thinPoolSpecSchema: JSONSchemaProps = {
  type: 'object',
  description: 'Desired state: where the pool goes, what it is built from, how it grows and who consumes it.',
  properties: {
    nodeSelector: {
      type: 'object',
      description: 'Labels a Node must carry to get the pool. Empty or unset: every node.',
      maxProperties: 32,
      additionalProperties: { type: 'string', maxLength: 63, pattern: LABEL_VALUE_PATTERN },
      'x-kubernetes-validations': [
        {
          // Map keys have no maxLength, so kube-apiserver's CEL cost estimate assumes megabyte keys:
          // only an O(1) check per key stays within budget (a regex would get the CRD rejected).
          rule: 'self.all(k, k.size() >= 1 && k.size() <= 317)',
          message: 'nodeSelector keys must be label keys of 1 to 317 characters',
        },
      ],
    },
    tolerations: {
      type: 'array',
      description: 'Tolerations for the agent pods, so the pool also reaches tainted nodes.',
      maxItems: 32,
      items: tolerationSchema,
    },
    volumeGroup: lvmName('LVM volume group that holds the pool. Immutable.', 'docker', 'volumeGroup'),
    thinPoolName: lvmName('Name of the thin pool logical volume. Immutable.', 'thinpool', 'thinPoolName', [
      {
        rule: `!${JSON.stringify(RESERVED_LV_SUBSTRINGS).replaceAll('"', "'")}.exists(s, self.contains(s)) && !self.startsWith('snapshot') && !self.startsWith('pvmove')`,
        message: 'thinPoolName must not contain a name LVM reserves (_tdata, _tmeta, ..., snapshot, pvmove)',
      },
    ]),
    devices: {
      type: 'array',
      description:
        'Direct-lvm: the block devices that make up the volume group. Use /dev/disk/by-id/ paths, which stay stable across reboots. Adding a device extends the pool. Exactly one of devices and loop.',
      minItems: 1,
      maxItems: 16,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['path'],
      items: {
        type: 'object',
        required: ['path'],
        properties: {
          path: {
            type: 'string',
            description: 'Absolute device path under /dev/, e.g. /dev/disk/by-id/virtio-data1.',
            minLength: 6,
            maxLength: 255,
            pattern: DEVICE_PATH_PATTERN,
            'x-kubernetes-validations': [
              { rule: "!self.contains('..')", message: 'device path must not contain ..' },
            ],
          },
        },
      },
    },
    loop: {
      type: 'object',
      description:
        'Loop-lvm, for testing only: sparse files in a host directory attached as loop devices. Exactly one of devices and loop.',
      required: ['directory', 'dataSize', 'metadataSize'],
      properties: {
        directory: hostDirectory(
          'Absolute host directory for the backing files. Immutable.',
          'loop.directory',
          {
            rules: [immutable('loop.directory')],
          },
        ),
        dataSize: byteQuantity(
          'Size of the data file, e.g. 2Gi. It may grow (the pool grows), never shrink.',
          'loop.dataSize',
          { min: '64Mi', max: '64Ti' },
          { rules: [cannotShrink('loop.dataSize')] },
        ),
        metadataSize: byteQuantity(
          'Size of the metadata file, e.g. 64Mi. It may grow, never shrink.',
          'loop.metadataSize',
          { min: '8Mi', max: '16Gi' },
          { rules: [cannotShrink('loop.metadataSize')] },
        ),
      },
    },
    wipeSignatures: {
      type: 'boolean',
      default: false,
      description:
        'Erase existing signatures (wipefs --all) on devices before use. False: a device that carries any filesystem, partition table or LVM signature is refused and reported. Destroys data when true.',
    },
    dataPercent: {
      type: 'integer',
      default: 95,
      minimum: 1,
      maximum: 99,
      description: 'Size of the pool data volume, in percent of the volume group.',
    },
    metadataPercent: {
      type: 'integer',
      default: 1,
      minimum: 1,
      maximum: 50,
      description:
        'Size of the pool metadata volume, in percent of the volume group. LVM reserves as much again for its spare metadata volume (pmspare).',
    },
    chunkSize: {
      type: 'string',
      default: '512Ki',
      description: 'Thin pool chunk size: a multiple of 64Ki between 64Ki and 1Gi. Immutable.',
      maxLength: 16,
      pattern: '^[0-9]+(Ki|Mi|Gi)$',
      'x-kubernetes-validations': [
        {
          rule: "!isQuantity(self) || (quantity(self).isInteger() && quantity(self).asInteger() % 65536 == 0 && quantity(self).compareTo(quantity('64Ki')) >= 0 && quantity(self).compareTo(quantity('1Gi')) <= 0)",
          message: 'chunkSize must be a multiple of 64Ki between 64Ki and 1Gi',
        },
        immutable('chunkSize'),
      ],
    },
    zeroing: {
      type: 'boolean',
      default: false,
      description:
        'Zero newly provisioned blocks (lvcreate --zero y). Default false, like Docker (--zero n).',
    },
    autoExtend: {
      type: 'object',
      default: {},
      description: 'When and how much the pool grows (LVM autoextend profile and the agent).',
      properties: {
        thresholdPercent: {
          type: 'integer',
          default: 80,
          minimum: 50,
          maximum: 100,
          description: 'Extend when data or metadata use passes this percentage; 100 disables autoextend.',
        },
        extendPercent: {
          type: 'integer',
          default: 20,
          minimum: 1,
          maximum: 100,
          description: 'Grow by this percentage of the current size.',
        },
        maxDataSize: byteQuantity(
          'Never grow data beyond this size, e.g. 500Gi. Unset: limited only by free space in the volume group.',
          'autoExtend.maxDataSize',
          { min: '1Mi' },
        ),
        metadata: { type: 'boolean', default: true, description: 'Extend metadata too.' },
      },
    },
    runtime: {
      type: 'object',
      default: {},
      description: 'The container runtime that consumes the pool, configured on each node by the agent.',
      properties: {
        type: {
          type: 'string',
          enum: ['none', 'docker', 'containerd'],
          default: 'none',
          description:
            'none: only create the pool. docker: configure the devicemapper storage driver. containerd: configure the devmapper snapshotter.',
        },
        restartStrategy: {
          type: 'string',
          enum: ['Auto', 'Systemd', 'InitScript', 'Signal'],
          default: 'Auto',
          description:
            'How the agent restarts the runtime on the host. Systemd: systemctl, from a transient unit. InitScript: /etc/init.d/<runtime>. Signal: SIGTERM, then the same command line again. Auto: the first of those the host supports.',
        },
        docker: {
          type: 'object',
          description: 'Docker devicemapper options; only with type docker.',
          properties: {
            deferredRemoval: { type: 'boolean', default: true, description: 'dm.use_deferred_removal.' },
            deferredDeletion: { type: 'boolean', default: true, description: 'dm.use_deferred_deletion.' },
            minFreeSpacePercent: {
              type: 'integer',
              default: 10,
              minimum: 0,
              maximum: 99,
              description: 'dm.min_free_space: Docker refuses new containers below this free space.',
            },
            overrideUdevSyncCheck: {
              type: 'boolean',
              default: false,
              description:
                'dm.override_udev_sync_check=true. Only for hosts without udev (minimal images, test VMs), where Docker refuses devicemapper without it; leave false wherever udev runs.',
            },
            extraStorageOptions: {
              type: 'array',
              default: [],
              maxItems: 16,
              description:
                'Further devicemapper storage options passed to Docker as written, each dm.<key>=<value> (e.g. dm.basesize=20G). Not the options set from their own fields, nor Docker direct-lvm options (dm.directlvm_device*, dm.thinp_*).',
              items: {
                type: 'string',
                maxLength: 256,
                pattern: DOCKER_STORAGE_OPTION_PATTERN,
                'x-kubernetes-validations': [
                  {
                    rule: `!${celStringList(MANAGED_DOCKER_STORAGE_OPTIONS)}.exists(k, self.split('=')[0] == k)`,
                    messageExpression:
                      "self.split('=')[0] + ' is set from its own field (the pool, deferredRemoval, deferredDeletion, minFreeSpacePercent or overrideUdevSyncCheck), not from extraStorageOptions'",
                  },
                  {
                    rule: `!${celStringList(DOCKER_DIRECT_LVM_OPTION_PREFIXES)}.exists(p, self.startsWith(p))`,
                    messageExpression:
                      "self.split('=')[0] + ' belongs to the direct-lvm setup of Docker itself, which conflicts with the pool this ThinPool provides (dm.thinpooldev)'",
                  },
                ],
              },
              'x-kubernetes-validations': [
                {
                  rule: "self.all(o, self.exists_one(p, p.split('=')[0] == o.split('=')[0]))",
                  message: 'extraStorageOptions must set each dm.* key at most once',
                },
              ],
            },
          },
        },
        containerd: {
          type: 'object',
          description: 'containerd devmapper snapshotter options; only with type containerd.',
          properties: {
            rootPath: hostDirectory(
              'root_path: where the snapshotter keeps its metadata.',
              'runtime.containerd.rootPath',
              { default: '/var/lib/containerd/devmapper' },
            ),
            baseImageSize: byteQuantity(
              'base_image_size: size of each container snapshot (thin, so it may exceed the pool).',
              'runtime.containerd.baseImageSize',
              { min: '64Mi', max: '1Ti' },
              { default: '10Gi' },
            ),
            discardBlocks: {
              type: 'boolean',
              default: true,
              description:
                'discard_blocks: discard the blocks of removed snapshots, returning them to the pool.',
            },
            criDefaultSnapshotter: {
              type: 'boolean',
              default: false,
              description:
                'Also make devmapper the default snapshotter of the CRI plugin, so Kubernetes pods use the pool.',
            },
            disableUdev: {
              type: 'boolean',
              default: false,
              description:
                'Start containerd with DM_DISABLE_UDEV=1. Only for hosts without udev, where dmsetup waits for device nodes that never appear; leave false wherever udev runs.',
            },
          },
        },
        drain: {
          type: 'object',
          default: {},
          description: 'How the switch of a node runtime to the pool is rolled out.',
          properties: {
            enabled: {
              type: 'boolean',
              default: false,
              description: 'Cordon and drain a node before switching its runtime, uncordon after.',
            },
            maxUnavailable: {
              type: 'integer',
              default: 1,
              minimum: 1,
              maximum: 1000,
              description: 'Nodes switched at the same time.',
            },
          },
        },
      },
      'x-kubernetes-validations': [
        {
          rule: "!has(self.docker) || self.type == 'docker'",
          message: 'runtime.docker is only allowed with runtime.type docker',
          fieldPath: '.docker',
        },
        {
          rule: "!has(self.containerd) || self.type == 'containerd'",
          message: 'runtime.containerd is only allowed with runtime.type containerd',
          fieldPath: '.containerd',
        },
        {
          rule: "!self.drain.enabled || self.type != 'none'",
          message: 'runtime.drain.enabled requires runtime.type docker or containerd',
          fieldPath: '.drain.enabled',
        },
        {
          rule: "self.restartStrategy == 'Auto' || self.type != 'none'",
          message: 'runtime.restartStrategy requires runtime.type docker or containerd',
          fieldPath: '.restartStrategy',
        },
      ],
    },
    mode: {
      type: 'string',
      enum: ['Apply', 'Plan'],
      default: 'Apply',
      description:
        'Apply changes hosts. Plan changes nothing: agents report the exact commands they would run.',
    },
    deletionPolicy: {
      type: 'string',
      enum: ['Retain', 'Delete'],
      default: 'Retain',
      description:
        'On ThinPool deletion: Retain leaves pools and volume groups on the hosts; Delete removes them (destroys data).',
    },
    paused: {
      type: 'boolean',
      default: false,
      description: 'Stop changing hosts; observation and status reporting continue.',
    },
  },
  'x-kubernetes-validations': [
    {
      rule: 'has(self.devices) != has(self.__loop__)',
      message: 'exactly one source must be set: spec.devices (direct-lvm) or spec.loop (loop-lvm)',
    },
    {
      rule: 'has(self.devices) == has(oldSelf.devices)',
      message: 'the source type is immutable: spec.devices and spec.loop cannot be swapped after creation',
    },
    {
      // LVM allocates a spare metadata volume (pmspare) as large as the metadata volume.
      rule: 'self.dataPercent + 2 * self.metadataPercent <= 100',
      message:
        'dataPercent + metadataPercent must not exceed 100, counting metadataPercent twice because LVM keeps a spare metadata volume (pmspare) of the same size',
      fieldPath: '.dataPercent',
    },
    {
      rule: '!self.wipeSignatures || has(self.devices)',
      message: 'wipeSignatures only applies to spec.devices (direct-lvm)',
      fieldPath: '.wipeSignatures',
    },
  ],
};

/** `ThinPool.status`, written by the operator. */
export const thinPoolStatusSchema: JSONSchemaProps = {
  type: 'object',
  description: 'Observed state, aggregated by the operator from the ThinPoolNodes.',
  properties: {
    observedGeneration: int64('The metadata.generation this status describes.'),
    conditions: conditions(
      'Ready, Progressing, Degraded, and RuntimeRollout (only with runtime.type docker or containerd).',
    ),
    nodes: {
      type: 'object',
      description: 'Node counts.',
      required: ['desired', 'ready', 'failed'],
      properties: {
        desired: count('Nodes selected by nodeSelector.'),
        ready: count('Nodes whose pool is Ready.'),
        failed: count('Nodes whose pool Failed.'),
      },
    },
    capacity: {
      type: 'object',
      description: 'Capacity summed over all nodes, in bytes.',
      required: ['dataSizeBytes', 'dataUsedBytes', 'metadataSizeBytes', 'metadataUsedBytes'],
      properties: {
        dataSizeBytes: int64('Total data size.'),
        dataUsedBytes: int64('Total data used.'),
        metadataSizeBytes: int64('Total metadata size.'),
        metadataUsedBytes: int64('Total metadata used.'),
        dataUsedPercent: percentUsed('Highest data use of any node, in percent (what autoextend acts on).'),
        metadataUsedPercent: percentUsed('Highest metadata use of any node, in percent.'),
      },
    },
    failingNodes: {
      type: 'array',
      description: 'Up to 20 nodes that are not Ready, with why.',
      maxItems: 20,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['node'],
      items: {
        type: 'object',
        required: ['node', 'reason', 'message'],
        properties: {
          node: { type: 'string', maxLength: 253, description: 'Node name.' },
          reason: {
            type: 'string',
            maxLength: 1024,
            description: 'CamelCase reason of the node Ready condition.',
          },
          message: { type: 'string', maxLength: 4096, description: 'Human readable detail.' },
        },
      },
    },
  },
};

/** The `ThinPool` CRD version schema. */
export const thinPoolSchema: JSONSchemaProps = {
  type: 'object',
  description:
    'ThinPool turns selected nodes into hosts with a ready, monitored LVM thin pool (Docker devicemapper direct-lvm, at cluster scale).',
  required: ['spec'],
  properties: {
    apiVersion: apiVersionProperty,
    kind: kindProperty,
    metadata: {
      type: 'object',
      properties: {
        name: {
          type: 'string',
          maxLength: 63,
          pattern: DNS_LABEL_PATTERN,
          description: 'A DNS label (no dots), so that ThinPoolNode names <pool>.<node> are unambiguous.',
        },
      },
    },
    spec: thinPoolSpecSchema,
    status: thinPoolStatusSchema,
  },
};

const byteStatus = (description: string) => int64(description);

/** `ThinPoolNode.status`, written by the node's agent. */
export const thinPoolNodeStatusSchema: JSONSchemaProps = {
  type: 'object',
  description: "Observed state of this node's pool, written by its agent.",
  properties: {
    phase: {
      type: 'string',
      enum: ['Pending', 'Planned', 'Provisioning', 'Ready', 'Failed', 'Deleting', 'Deleted'],
      description: 'Coarse lifecycle; conditions carry the detail.',
    },
    conditions: conditions('DevicesReady, PoolReady, Monitored, RuntimeConfigured and Ready.'),
    devices: {
      type: 'array',
      description: 'The devices of the spec as the agent sees them.',
      maxItems: 64,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['path'],
      items: {
        type: 'object',
        required: ['path', 'sizeBytes', 'state'],
        properties: {
          path: { type: 'string', maxLength: 255, description: 'Device path from the spec.' },
          sizeBytes: byteStatus('Device size.'),
          state: {
            type: 'string',
            enum: ['InUse', 'Pending', 'Refused', 'Missing'],
            description:
              'InUse: a PV of the volume group. Pending: about to be used. Refused: see excludedDevices.',
          },
        },
      },
    },
    excludedDevices: {
      type: 'array',
      description: 'Devices the agent will not touch, and why (e.g. a signature and wipeSignatures false).',
      maxItems: 64,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['path'],
      items: {
        type: 'object',
        required: ['path', 'reason'],
        properties: {
          path: { type: 'string', maxLength: 255, description: 'Device path.' },
          reason: { type: 'string', maxLength: 1024, description: 'Why the device is excluded.' },
        },
      },
    },
    volumeGroup: {
      type: 'object',
      description: 'The volume group.',
      required: ['sizeBytes', 'freeBytes'],
      properties: { sizeBytes: byteStatus('VG size.'), freeBytes: byteStatus('VG free space.') },
    },
    pool: {
      type: 'object',
      description: 'The thin pool.',
      required: [
        'dataSizeBytes',
        'dataUsedBytes',
        'metadataSizeBytes',
        'metadataUsedBytes',
        'chunkSizeBytes',
        'active',
        'monitored',
      ],
      properties: {
        dataSizeBytes: byteStatus('Data volume size.'),
        dataUsedBytes: byteStatus('Data used.'),
        metadataSizeBytes: byteStatus('Metadata volume size.'),
        metadataUsedBytes: byteStatus('Metadata used.'),
        chunkSizeBytes: byteStatus('Chunk size.'),
        dataUsedPercent: percentUsed('Data use in percent.'),
        metadataUsedPercent: percentUsed('Metadata use in percent.'),
        active: { type: 'boolean', description: 'The pool is active (device-mapper table loaded).' },
        monitored: { type: 'boolean', description: 'dmeventd monitors the pool (autoextend works).' },
      },
    },
    lastExtension: {
      type: 'object',
      description: 'The most recent extension.',
      required: ['time', 'kind', 'fromBytes', 'toBytes', 'trigger'],
      properties: {
        time: { type: 'string', format: 'date-time', description: 'When.' },
        kind: { type: 'string', enum: ['data', 'metadata'], description: 'Which volume grew.' },
        fromBytes: byteStatus('Size before.'),
        toBytes: byteStatus('Size after.'),
        trigger: {
          type: 'string',
          maxLength: 64,
          description: 'threshold, device-added, spec-size or dmeventd.',
        },
      },
    },
    secondsToFull: {
      type: 'object',
      description:
        'Projected seconds until data/metadata is full at the recent growth rate; unset when not growing.',
      properties: {
        data: int64('Seconds until data is full.'),
        metadata: int64('Seconds until metadata is full.'),
      },
    },
    plan: {
      type: 'array',
      description: 'Plan mode: the commands the agent would run, one command line per entry.',
      maxItems: 256,
      items: { type: 'string', maxLength: 4096 },
    },
    runtime: {
      type: 'object',
      description: 'Container runtime configuration on this node.',
      required: ['type', 'configured'],
      properties: {
        type: {
          type: 'string',
          enum: ['none', 'docker', 'containerd'],
          description: 'Runtime type of the spec.',
        },
        configured: { type: 'boolean', description: 'The runtime is configured to use the pool.' },
        message: { type: 'string', maxLength: 4096, description: 'Detail, e.g. why it is not configured.' },
      },
    },
    lastHeartbeatTime: {
      type: 'string',
      format: 'date-time',
      description: 'Last time the agent reported; a stale heartbeat means the agent is gone.',
    },
    observedGeneration: int64('The ThinPool metadata.generation this status describes.'),
  },
};

/** The `ThinPoolNode` CRD version schema. */
export const thinPoolNodeSchema: JSONSchemaProps = {
  type: 'object',
  description:
    "One ThinPool's pool on one node, named <pool>.<node>, owned by its ThinPool, written by the node's agent.",
  required: ['spec'],
  properties: {
    apiVersion: apiVersionProperty,
    kind: kindProperty,
    metadata: {
      type: 'object',
      properties: { name: { type: 'string', maxLength: 253, pattern: DNS_SUBDOMAIN_PATTERN } },
    },
    spec: {
      type: 'object',
      description:
        "Identity: the pool and the node (immutable), and the operator's permission for the node's runtime switch.",
      required: ['thinPool', 'nodeName'],
      properties: {
        thinPool: {
          type: 'string',
          maxLength: 63,
          pattern: DNS_LABEL_PATTERN,
          description: 'ThinPool name.',
          'x-kubernetes-validations': [immutable('thinPool')],
        },
        nodeName: {
          type: 'string',
          maxLength: 253,
          pattern: DNS_SUBDOMAIN_PATTERN,
          description: 'Node name.',
          'x-kubernetes-validations': [immutable('nodeName')],
        },
        runtimeSwitch: {
          type: 'string',
          enum: ['Draining', 'Allowed'],
          description:
            "Written by the operator's runtime rollout only. Draining: the node is being cordoned and drained, the agent waits. Allowed: the agent may switch the node's container runtime to the pool. Unset: an agent that would have to switch waits (RuntimeConfigured False, reason AwaitingRollout).",
        },
      },
    },
    status: thinPoolNodeStatusSchema,
  },
  'x-kubernetes-validations': [
    {
      rule: "!has(self.metadata) || !has(self.metadata.name) || self.metadata.name == self.spec.thinPool + '.' + self.spec.nodeName",
      message: 'metadata.name must be <spec.thinPool>.<spec.nodeName>',
      fieldPath: '.metadata.name',
    },
  ],
};
