/**
 * The resource types the emulator serves: their names, scope, subresources, write strategy (what
 * kube-apiserver's registry strategy does on create and update), selectable fields and strategic-merge
 * patch metadata. Built-in kinds are declared here; CRDs add theirs at run time (`crds.ts`).
 */
import type { PatchMeta, JsonObject } from './patch.js';
import type { InvalidField } from './status.js';

/** Any stored Kubernetes object. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** The `metav1.ObjectMeta` fields the emulator reads and maintains. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  [field: string]: unknown;
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

/** One printer column of a Table (a CRD's additionalPrinterColumn or a built-in column). */
export interface PrinterColumn {
  name: string;
  type: 'integer' | 'number' | 'string' | 'boolean' | 'date';
  format?: string;
  description?: string;
  priority?: number;
  /** For CRD columns: the JSONPath (`.status.x`). Built-in columns use `cell`. */
  jsonPath?: string;
  cell?: (obj: KubeObject) => unknown;
}

/** A served resource (one group/version/plural). */
export interface ResourceType {
  group: string;
  version: string;
  /** Plural name, e.g. `thinpools`. */
  resource: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** `status` subresource: main writes ignore status, `/status` writes change only status. */
  statusSubresource: boolean;
  /** Other subresources served (`eviction` on pods, `finalize` on namespaces). */
  extraSubresources?: string[];
  /** Whether `metadata.generation` is maintained (CRs, workloads). */
  tracksGeneration: boolean;
  /** Whether create keeps a client-supplied status (Nodes) rather than resetting it. */
  createKeepsStatus?: boolean;
  /** Status set on create for kinds with a status subresource (default: none). */
  initialStatus?: (obj: KubeObject) => JsonObject | undefined;
  /** PUT without resourceVersion allowed (false for custom resources). */
  allowUnconditionalUpdate: boolean;
  /** PUT of a missing object creates it (Leases, Events). */
  allowCreateOnUpdate: boolean;
  /** DELETE answers with the object (true) or a success Status (false). */
  returnDeletedObject: boolean;
  /** Objects of several served types can share one storage (core and events.k8s.io Events). */
  storage: string;
  /** Converts a stored object to this type's API version (shared storage only). */
  fromStorage?: (obj: KubeObject) => KubeObject;
  /** Converts an object of this API version to the stored form (shared storage only). */
  toStorage?: (obj: KubeObject) => KubeObject;
  /** Field selector labels beyond metadata.name and metadata.namespace, with their values. */
  selectableFields?: (obj: KubeObject) => Record<string, string>;
  /** Strategic-merge patch metadata; undefined means strategic merge is refused (custom resources). */
  patchMeta?: PatchMeta;
  /** Defaults the registry applies on create (Pod restartPolicy, ...). */
  applyDefaults?: (obj: KubeObject) => void;
  /** Validation beyond names; CRDs validate through the shared validator instead. */
  validate?: (obj: KubeObject, old?: KubeObject) => InvalidField[];
  /** Server-side Table columns after NAME (kubectl get); default: AGE. */
  printerColumns?: PrinterColumn[];
  /**
   * `metav1.MicroTime` fields (paths in the served form). kube-apiserver decodes them with the fixed
   * layout `2006-01-02T15:04:05.000000Z07:00`, so anything but exactly six fractional digits (such as
   * JavaScript's `Date.toISOString()`) is a 400 before validation even runs.
   */
  microTimeFields?: string[][];
  /** Set for custom resources: the CRD name and version schema. */
  custom?: { crdName: string; schema?: JsonObject; preserveUnknownFields?: boolean };
}

const RFC3339_MICRO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

/**
 * Checks the MicroTime fields of an object in its served form as kube-apiserver's decoder would; returns
 * the decode error text for the first malformed one.
 */
export function microTimeProblem(rt: ResourceType, obj: KubeObject): string | undefined {
  for (const path of rt.microTimeFields ?? []) {
    const value = get(obj, ...path);
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || !RFC3339_MICRO.test(value)) {
      return `${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: parsing time ${JSON.stringify(value)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse ${JSON.stringify(String(value).slice(19))} as ".000000"`;
    }
  }
  return undefined;
}

/** Verbs of every resource in discovery. */
export const RESOURCE_VERBS = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];

/** `group/version` or `version` for core. */
export function apiVersionOf(rt: Pick<ResourceType, 'group' | 'version'>): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}

const objectMetaPatch: PatchMeta = {
  finalizers: { strategy: 'merge' },
  ownerReferences: { strategy: 'merge', mergeKey: 'uid' },
};

const conditionsPatch = { strategy: 'merge', mergeKey: 'type' } as const;

const containerPatch: PatchMeta = {
  env: { strategy: 'merge', mergeKey: 'name' },
  ports: { strategy: 'merge', mergeKey: 'containerPort' },
  volumeMounts: { strategy: 'merge', mergeKey: 'mountPath' },
  volumeDevices: { strategy: 'merge', mergeKey: 'devicePath' },
};

const podSpecPatch: PatchMeta = {
  containers: { strategy: 'merge', mergeKey: 'name', fields: containerPatch },
  initContainers: { strategy: 'merge', mergeKey: 'name', fields: containerPatch },
  ephemeralContainers: { strategy: 'merge', mergeKey: 'name', fields: containerPatch },
  volumes: { strategy: 'merge,retainKeys', mergeKey: 'name' },
  imagePullSecrets: { strategy: 'merge', mergeKey: 'name' },
  hostAliases: { strategy: 'merge', mergeKey: 'ip' },
  topologySpreadConstraints: { strategy: 'merge', mergeKey: 'topologyKey' },
};

const podTemplatePatch: PatchMeta = {
  metadata: { fields: objectMetaPatch },
  spec: { fields: podSpecPatch },
};

function withMeta(rest: PatchMeta = {}): PatchMeta {
  return { metadata: { fields: objectMetaPatch }, ...rest };
}

const podPatch = withMeta({
  spec: { fields: podSpecPatch },
  status: {
    fields: {
      conditions: conditionsPatch,
      podIPs: { strategy: 'merge', mergeKey: 'ip' },
      hostIPs: { strategy: 'merge', mergeKey: 'ip' },
    },
  },
});

const nodePatch = withMeta({
  spec: { fields: { podCIDRs: { strategy: 'merge' } } },
  status: {
    fields: {
      conditions: conditionsPatch,
      addresses: { strategy: 'merge', mergeKey: 'type' },
    },
  },
});

const workloadPatch = withMeta({
  spec: { fields: { template: { fields: podTemplatePatch }, strategy: { strategy: 'retainKeys' } } },
  status: { fields: { conditions: conditionsPatch } },
});

function str(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

function get(obj: unknown, ...path: string[]): unknown {
  let node = obj;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

interface BuiltinSpec {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  statusSubresource?: boolean;
  tracksGeneration?: boolean;
  storage?: string;
  overrides?: Partial<ResourceType>;
}

function builtin(spec: BuiltinSpec): ResourceType {
  return {
    group: spec.group,
    version: spec.version,
    resource: spec.resource,
    singular: spec.kind.toLowerCase(),
    kind: spec.kind,
    listKind: `${spec.kind}List`,
    namespaced: spec.namespaced,
    shortNames: spec.shortNames,
    categories: spec.categories,
    statusSubresource: spec.statusSubresource ?? false,
    tracksGeneration: spec.tracksGeneration ?? false,
    allowUnconditionalUpdate: true,
    allowCreateOnUpdate: false,
    returnDeletedObject: false,
    storage: spec.storage ?? `${spec.group}/${spec.resource}`,
    patchMeta: withMeta(),
    ...spec.overrides,
  };
}

function required(obj: KubeObject, path: string[]): InvalidField[] {
  const value = get(obj, ...path);
  if (value === undefined || value === null || value === '') {
    const field = path.join('.');
    return [{ type: 'FieldValueRequired', field, message: `${field}: Required value` }];
  }
  return [];
}

function podDefaults(spec: Record<string, unknown> | undefined): void {
  if (!spec) return;
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  for (const container of (spec.containers as Record<string, unknown>[] | undefined) ?? []) {
    container.terminationMessagePath ??= '/dev/termination-log';
    container.terminationMessagePolicy ??= 'File';
    container.imagePullPolicy ??=
      String(container.image ?? '').endsWith(':latest') || !String(container.image ?? '').includes(':')
        ? 'Always'
        : 'IfNotPresent';
    container.resources ??= {};
  }
}

function podQosClass(pod: KubeObject): string {
  const containers = (get(pod, 'spec', 'containers') as Record<string, unknown>[] | undefined) ?? [];
  const anyResources = containers.some((c) => {
    const r = c.resources as Record<string, unknown> | undefined;
    return (
      r &&
      (Object.keys((r.requests as object) ?? {}).length > 0 ||
        Object.keys((r.limits as object) ?? {}).length > 0)
    );
  });
  return anyResources ? 'Burstable' : 'BestEffort';
}

function isPodReady(pod: KubeObject): boolean {
  const conditions =
    (get(pod, 'status', 'conditions') as { type: string; status: string }[] | undefined) ?? [];
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Whether a Pod's Ready condition is True (PodDisruptionBudget health). */
export { isPodReady };

function readyCount(pod: KubeObject): string {
  const statuses = (get(pod, 'status', 'containerStatuses') as { ready?: boolean }[] | undefined) ?? [];
  const total = ((get(pod, 'spec', 'containers') as unknown[] | undefined) ?? []).length;
  return `${statuses.filter((s) => s.ready).length}/${total}`;
}

function restarts(pod: KubeObject): number {
  const statuses = (get(pod, 'status', 'containerStatuses') as { restartCount?: number }[] | undefined) ?? [];
  return statuses.reduce((sum, s) => sum + (s.restartCount ?? 0), 0);
}

function nodeStatusText(node: KubeObject): string {
  const conditions =
    (get(node, 'status', 'conditions') as { type: string; status: string }[] | undefined) ?? [];
  const ready = conditions.find((c) => c.type === 'Ready');
  let text = ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown';
  if (get(node, 'spec', 'unschedulable') === true) text += ',SchedulingDisabled';
  return text;
}

function nodeRoles(node: KubeObject): string {
  const roles = Object.keys(node.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length));
  return roles.length ? roles.join(',') : '<none>';
}

/** Converts a core/v1 Event (the stored form) to events.k8s.io/v1. */
export function coreEventToEventsV1(event: KubeObject): KubeObject {
  const e = event as Record<string, unknown>;
  const out: Record<string, unknown> = {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: event.metadata,
    eventTime: e.eventTime ?? null,
  };
  const copy = (from: string, to: string): void => {
    if (e[from] !== undefined && e[from] !== null) out[to] = e[from];
  };
  copy('series', 'series');
  copy('reportingComponent', 'reportingController');
  copy('reportingInstance', 'reportingInstance');
  copy('action', 'action');
  copy('reason', 'reason');
  copy('involvedObject', 'regarding');
  copy('related', 'related');
  copy('message', 'note');
  copy('type', 'type');
  copy('source', 'deprecatedSource');
  copy('firstTimestamp', 'deprecatedFirstTimestamp');
  copy('lastTimestamp', 'deprecatedLastTimestamp');
  copy('count', 'deprecatedCount');
  return out as KubeObject;
}

/** Converts an events.k8s.io/v1 Event to the stored core/v1 form. */
export function eventsV1ToCoreEvent(event: KubeObject): KubeObject {
  const e = event as Record<string, unknown>;
  const out: Record<string, unknown> = { apiVersion: 'v1', kind: 'Event', metadata: event.metadata };
  const copy = (from: string, to: string): void => {
    if (e[from] !== undefined && e[from] !== null) out[to] = e[from];
  };
  copy('regarding', 'involvedObject');
  copy('reason', 'reason');
  copy('note', 'message');
  copy('deprecatedSource', 'source');
  copy('deprecatedFirstTimestamp', 'firstTimestamp');
  copy('deprecatedLastTimestamp', 'lastTimestamp');
  copy('deprecatedCount', 'count');
  copy('type', 'type');
  copy('eventTime', 'eventTime');
  copy('series', 'series');
  copy('action', 'action');
  copy('related', 'related');
  copy('reportingController', 'reportingComponent');
  copy('reportingInstance', 'reportingInstance');
  out.involvedObject ??= {};
  out.source ??= {};
  out.reportingComponent ??= '';
  out.reportingInstance ??= '';
  return out as KubeObject;
}

function coreEventFields(event: KubeObject): Record<string, string> {
  const involved = (event.involvedObject ?? {}) as Record<string, unknown>;
  const source = (event.source ?? {}) as Record<string, unknown>;
  const fields: Record<string, string> = {
    reason: str(event.reason),
    type: str(event.type),
    source: str(source.component),
    reportingComponent: str(event.reportingComponent),
  };
  for (const key of ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath']) {
    fields[`involvedObject.${key}`] = str(involved[key]);
  }
  return fields;
}

function eventsV1Fields(stored: KubeObject): Record<string, string> {
  const fields = coreEventFields(stored);
  for (const key of ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath']) {
    fields[`regarding.${key}`] = fields[`involvedObject.${key}`];
  }
  fields.reportingController = fields.reportingComponent;
  return fields;
}

function lastSeen(event: KubeObject): unknown {
  const series = event.series as { lastObservedTime?: string } | undefined;
  return (
    series?.lastObservedTime ?? event.lastTimestamp ?? event.eventTime ?? event.metadata.creationTimestamp
  );
}

function eventObjectRef(event: KubeObject): string {
  const involved = (event.involvedObject ?? {}) as Record<string, string>;
  return `${String(involved.kind ?? '').toLowerCase()}/${involved.name ?? ''}`;
}

function validateEventsV1(stored: KubeObject): InvalidField[] {
  const event = coreEventToEventsV1(stored);
  const errors = ['eventTime', 'reportingController', 'reportingInstance', 'action', 'reason'].flatMap((f) =>
    required(event, [f]),
  );
  const type = event.type;
  if (type !== 'Normal' && type !== 'Warning') {
    errors.push({
      type: 'FieldValueNotSupported',
      field: 'type',
      message: `type: Unsupported value: ${JSON.stringify(type ?? '')}: supported values: "Normal", "Warning"`,
    });
  }
  return errors;
}

function validateCoreEvent(event: KubeObject): InvalidField[] {
  const involvedNs = get(event, 'involvedObject', 'namespace');
  if (involvedNs && involvedNs !== event.metadata.namespace) {
    return [
      {
        type: 'FieldValueInvalid',
        field: 'involvedObject.namespace',
        message: `involvedObject.namespace: Invalid value: ${JSON.stringify(involvedNs)}: does not match event.namespace`,
      },
    ];
  }
  return [];
}

function selectorMatchesTemplate(obj: KubeObject): InvalidField[] {
  const errors = required(obj, ['spec', 'selector']);
  if (errors.length) return errors;
  const matchLabels =
    (get(obj, 'spec', 'selector', 'matchLabels') as Record<string, string> | undefined) ?? {};
  const labels =
    (get(obj, 'spec', 'template', 'metadata', 'labels') as Record<string, string> | undefined) ?? {};
  if (Object.entries(matchLabels).some(([k, v]) => labels[k] !== v)) {
    return [
      {
        type: 'FieldValueInvalid',
        field: 'spec.template.metadata.labels',
        message: `spec.template.metadata.labels: Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\``,
      },
    ];
  }
  return required(obj, ['spec', 'template', 'spec', 'containers']);
}

const AGE: PrinterColumn = {
  name: 'Age',
  type: 'date',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  cell: (o) => o.metadata.creationTimestamp,
};

/** The built-in resource types (core, apps, coordination, events, policy, rbac, apiextensions). */
export function builtinResources(): ResourceType[] {
  const core = { group: '', version: 'v1' };
  const coreEvents = builtin({
    ...core,
    resource: 'events',
    kind: 'Event',
    namespaced: true,
    shortNames: ['ev'],
    storage: 'events',
    overrides: {
      allowCreateOnUpdate: true,
      microTimeFields: [['eventTime'], ['series', 'lastObservedTime']],
      selectableFields: coreEventFields,
      validate: validateCoreEvent,
      printerColumns: [
        { name: 'Last Seen', type: 'string', cell: lastSeen },
        { name: 'Type', type: 'string', cell: (o) => o.type },
        { name: 'Reason', type: 'string', cell: (o) => o.reason },
        { name: 'Object', type: 'string', cell: eventObjectRef },
        { name: 'Message', type: 'string', cell: (o) => o.message },
      ],
    },
  });
  return [
    builtin({
      ...core,
      resource: 'namespaces',
      kind: 'Namespace',
      namespaced: false,
      shortNames: ['ns'],
      statusSubresource: true,
      overrides: {
        extraSubresources: ['finalize'],
        returnDeletedObject: true,
        createKeepsStatus: false,
        initialStatus: () => ({ phase: 'Active' }),
        applyDefaults: (o) => {
          const spec = ((o.spec as Record<string, unknown>) ??= {});
          spec.finalizers ??= ['kubernetes'];
          o.metadata.labels = { ...o.metadata.labels, 'kubernetes.io/metadata.name': o.metadata.name ?? '' };
        },
        selectableFields: (o) => ({ 'status.phase': str(get(o, 'status', 'phase')) }),
        printerColumns: [{ name: 'Status', type: 'string', cell: (o) => get(o, 'status', 'phase') }, AGE],
      },
    }),
    builtin({
      ...core,
      resource: 'nodes',
      kind: 'Node',
      namespaced: false,
      shortNames: ['no'],
      statusSubresource: true,
      overrides: {
        createKeepsStatus: true,
        patchMeta: nodePatch,
        selectableFields: (o) => ({ 'spec.unschedulable': String(get(o, 'spec', 'unschedulable') === true) }),
        printerColumns: [
          { name: 'Status', type: 'string', cell: nodeStatusText },
          { name: 'Roles', type: 'string', cell: nodeRoles },
          AGE,
          {
            name: 'Version',
            type: 'string',
            cell: (o) => get(o, 'status', 'nodeInfo', 'kubeletVersion') ?? '',
          },
        ],
      },
    }),
    builtin({
      ...core,
      resource: 'pods',
      kind: 'Pod',
      namespaced: true,
      shortNames: ['po'],
      categories: ['all'],
      statusSubresource: true,
      overrides: {
        extraSubresources: ['eviction'],
        returnDeletedObject: true,
        patchMeta: podPatch,
        applyDefaults: (o) => podDefaults(o.spec as Record<string, unknown>),
        initialStatus: (o) => ({ phase: 'Pending', qosClass: podQosClass(o) }),
        validate: (o) => required(o, ['spec', 'containers']),
        selectableFields: (o) => ({
          'spec.nodeName': str(get(o, 'spec', 'nodeName')),
          'spec.restartPolicy': str(get(o, 'spec', 'restartPolicy')),
          'spec.schedulerName': str(get(o, 'spec', 'schedulerName')),
          'spec.serviceAccountName': str(get(o, 'spec', 'serviceAccountName')),
          'spec.hostNetwork': String(get(o, 'spec', 'hostNetwork') === true),
          'status.phase': str(get(o, 'status', 'phase')),
          'status.podIP': str(get(o, 'status', 'podIP')),
          'status.nominatedNodeName': str(get(o, 'status', 'nominatedNodeName')),
        }),
        printerColumns: [
          { name: 'Ready', type: 'string', cell: readyCount },
          {
            name: 'Status',
            type: 'string',
            cell: (o) => (o.metadata.deletionTimestamp ? 'Terminating' : get(o, 'status', 'phase')),
          },
          { name: 'Restarts', type: 'string', cell: (o) => String(restarts(o)) },
          AGE,
          { name: 'IP', type: 'string', priority: 1, cell: (o) => get(o, 'status', 'podIP') ?? '<none>' },
          { name: 'Node', type: 'string', priority: 1, cell: (o) => get(o, 'spec', 'nodeName') ?? '<none>' },
        ],
      },
    }),
    coreEvents,
    builtin({
      group: 'events.k8s.io',
      version: 'v1',
      resource: 'events',
      kind: 'Event',
      namespaced: true,
      shortNames: ['ev'],
      storage: 'events',
      overrides: {
        allowCreateOnUpdate: true,
        microTimeFields: [['eventTime'], ['series', 'lastObservedTime']],
        fromStorage: coreEventToEventsV1,
        toStorage: eventsV1ToCoreEvent,
        selectableFields: eventsV1Fields,
        validate: validateEventsV1,
        printerColumns: coreEvents.printerColumns,
      },
    }),
    builtin({
      ...core,
      resource: 'serviceaccounts',
      kind: 'ServiceAccount',
      namespaced: true,
      shortNames: ['sa'],
    }),
    builtin({
      ...core,
      resource: 'configmaps',
      kind: 'ConfigMap',
      namespaced: true,
      shortNames: ['cm'],
      overrides: {
        printerColumns: [
          { name: 'Data', type: 'integer', cell: (o) => Object.keys((o.data as object) ?? {}).length },
          AGE,
        ],
      },
    }),
    builtin({
      ...core,
      resource: 'secrets',
      kind: 'Secret',
      namespaced: true,
      overrides: {
        selectableFields: (o) => ({ type: str(o.type) }),
        // SetDefaults_Secret: an empty type is Opaque.
        applyDefaults: (o) => {
          if (!o.type) o.type = 'Opaque';
        },
      },
    }),
    builtin({
      ...core,
      resource: 'services',
      kind: 'Service',
      namespaced: true,
      shortNames: ['svc'],
      statusSubresource: true,
    }),
    builtin({
      group: 'apps',
      version: 'v1',
      resource: 'daemonsets',
      kind: 'DaemonSet',
      namespaced: true,
      shortNames: ['ds'],
      categories: ['all'],
      statusSubresource: true,
      tracksGeneration: true,
      overrides: {
        patchMeta: workloadPatch,
        applyDefaults: (o) => {
          const spec = (o.spec ?? {}) as Record<string, unknown>;
          spec.updateStrategy ??= {
            type: 'RollingUpdate',
            rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
          };
          spec.revisionHistoryLimit ??= 10;
          podDefaults(get(spec, 'template', 'spec') as Record<string, unknown> | undefined);
        },
        initialStatus: () => ({
          currentNumberScheduled: 0,
          numberMisscheduled: 0,
          desiredNumberScheduled: 0,
          numberReady: 0,
        }),
        validate: selectorMatchesTemplate,
        printerColumns: [
          { name: 'Desired', type: 'integer', cell: (o) => get(o, 'status', 'desiredNumberScheduled') ?? 0 },
          { name: 'Current', type: 'integer', cell: (o) => get(o, 'status', 'currentNumberScheduled') ?? 0 },
          { name: 'Ready', type: 'integer', cell: (o) => get(o, 'status', 'numberReady') ?? 0 },
          {
            name: 'Up-to-date',
            type: 'integer',
            cell: (o) => get(o, 'status', 'updatedNumberScheduled') ?? 0,
          },
          { name: 'Available', type: 'integer', cell: (o) => get(o, 'status', 'numberAvailable') ?? 0 },
          {
            name: 'Node Selector',
            type: 'string',
            cell: (o) =>
              Object.entries((get(o, 'spec', 'template', 'spec', 'nodeSelector') as object) ?? {})
                .map(([k, v]) => `${k}=${String(v)}`)
                .join(',') || '<none>',
          },
          AGE,
        ],
      },
    }),
    builtin({
      group: 'apps',
      version: 'v1',
      resource: 'deployments',
      kind: 'Deployment',
      namespaced: true,
      shortNames: ['deploy'],
      categories: ['all'],
      statusSubresource: true,
      tracksGeneration: true,
      overrides: {
        patchMeta: workloadPatch,
        applyDefaults: (o) =>
          podDefaults(get(o, 'spec', 'template', 'spec') as Record<string, unknown> | undefined),
        initialStatus: () => ({}),
        validate: selectorMatchesTemplate,
      },
    }),
    builtin({
      group: 'coordination.k8s.io',
      version: 'v1',
      resource: 'leases',
      kind: 'Lease',
      namespaced: true,
      overrides: {
        allowCreateOnUpdate: true,
        printerColumns: [
          { name: 'Holder', type: 'string', cell: (o) => get(o, 'spec', 'holderIdentity') ?? '' },
          AGE,
        ],
      },
    }),
    builtin({
      group: 'policy',
      version: 'v1',
      resource: 'poddisruptionbudgets',
      kind: 'PodDisruptionBudget',
      namespaced: true,
      shortNames: ['pdb'],
      statusSubresource: true,
      tracksGeneration: true,
      overrides: {
        initialStatus: () => ({
          disruptionsAllowed: 0,
          currentHealthy: 0,
          desiredHealthy: 0,
          expectedPods: 0,
        }),
        validate: (o) => {
          const spec = (o.spec ?? {}) as Record<string, unknown>;
          if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
            return [
              {
                type: 'FieldValueInvalid',
                field: 'spec',
                message: `spec: Invalid value: ${JSON.stringify(spec)}: minAvailable and maxUnavailable cannot be both set`,
              },
            ];
          }
          return [];
        },
      },
    }),
    ...['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings'].map((resource) =>
      builtin({
        group: 'rbac.authorization.k8s.io',
        version: 'v1',
        resource,
        kind: {
          roles: 'Role',
          rolebindings: 'RoleBinding',
          clusterroles: 'ClusterRole',
          clusterrolebindings: 'ClusterRoleBinding',
        }[resource] as string,
        namespaced: !resource.startsWith('cluster'),
      }),
    ),
    builtin({
      group: 'apiextensions.k8s.io',
      version: 'v1',
      resource: 'customresourcedefinitions',
      kind: 'CustomResourceDefinition',
      namespaced: false,
      shortNames: ['crd', 'crds'],
      categories: ['api-extensions'],
      statusSubresource: true,
      tracksGeneration: true,
      overrides: {
        allowUnconditionalUpdate: false,
        returnDeletedObject: true,
        printerColumns: [{ name: 'Created At', type: 'date', cell: (o) => o.metadata.creationTimestamp }],
      },
    }),
  ];
}

/** The Age column every default Table ends with. */
export const AGE_COLUMN = AGE;
