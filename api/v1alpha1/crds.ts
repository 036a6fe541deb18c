/**
 * The CustomResourceDefinitions of thinpool.dev/v1alpha1, built from the schemas in `schema.ts`, and
 * their YAML rendering (what `make crds` writes to `crds/` and `charts/thinpool-operator/crds/`).
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import type { JSONSchemaProps } from '../validation/index.js';
import { thinPoolNodeSchema, thinPoolSchema } from './schema.js';
import { GROUP, VERSION } from './types.js';

/** `apiextensions.k8s.io/v1` CustomResourceColumnDefinition. */
export interface PrinterColumn {
  name: string;
  type: 'integer' | 'number' | 'string' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
}

/** The subset of `apiextensions.k8s.io/v1` CustomResourceDefinition this project writes. */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: 'Cluster' | 'Namespaced';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: JSONSchemaProps };
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
    }[];
  };
}

/** Annotation holding a digest of the CRD spec, so the operator can tell whether the installed CRD is current. */
export const SCHEMA_DIGEST_ANNOTATION = 'thinpool.dev/schema-digest';

/** sha256 of the canonical JSON of a CRD spec. */
export function schemaDigest(spec: CustomResourceDefinition['spec']): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(spec)).digest('hex')}`;
}

const readyCondition = (priority?: number): PrinterColumn => ({
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
  description: 'Status of the Ready condition.',
  ...(priority ? { priority } : {}),
});

const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

function crd(
  kind: string,
  plural: string,
  shortNames: string[],
  schema: JSONSchemaProps,
  columns: PrinterColumn[],
): CustomResourceDefinition {
  const spec: CustomResourceDefinition['spec'] = {
    group: GROUP,
    names: {
      kind,
      listKind: `${kind}List`,
      plural,
      singular: kind.toLowerCase(),
      shortNames,
      categories: ['storage'],
    },
    scope: 'Cluster',
    versions: [
      {
        name: VERSION,
        served: true,
        storage: true,
        schema: { openAPIV3Schema: schema },
        subresources: { status: {} },
        additionalPrinterColumns: columns,
      },
    ],
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${plural}.${GROUP}`,
      labels: {
        'app.kubernetes.io/name': 'thinpool-operator',
        'app.kubernetes.io/part-of': 'thinpool-operator',
      },
      annotations: { [SCHEMA_DIGEST_ANNOTATION]: schemaDigest(spec) },
    },
    spec,
  };
}

/** The ThinPool CRD: cluster-scoped, short name `tp`, category `storage`, status subresource. */
export function thinPoolCrd(): CustomResourceDefinition {
  return crd('ThinPool', 'thinpools', ['tp'], thinPoolSchema, [
    { name: 'Desired', type: 'integer', jsonPath: '.status.nodes.desired', description: 'Nodes selected.' },
    {
      name: 'Ready Nodes',
      type: 'integer',
      jsonPath: '.status.nodes.ready',
      description: 'Nodes with a ready pool.',
    },
    {
      name: 'Failed',
      type: 'integer',
      jsonPath: '.status.nodes.failed',
      description: 'Nodes failing.',
      priority: 1,
    },
    {
      name: 'Data%',
      type: 'number',
      jsonPath: '.status.capacity.dataUsedPercent',
      description: 'Highest data use of any node.',
    },
    {
      name: 'Metadata%',
      type: 'number',
      jsonPath: '.status.capacity.metadataUsedPercent',
      description: 'Highest metadata use of any node.',
    },
    readyCondition(),
    { name: 'Mode', type: 'string', jsonPath: '.spec.mode', description: 'Apply or Plan.', priority: 1 },
    { name: 'VG', type: 'string', jsonPath: '.spec.volumeGroup', description: 'Volume group.', priority: 1 },
    age,
  ]);
}

/** The ThinPoolNode CRD: cluster-scoped, short name `tpn`, category `storage`, status subresource. */
export function thinPoolNodeCrd(): CustomResourceDefinition {
  return crd('ThinPoolNode', 'thinpoolnodes', ['tpn'], thinPoolNodeSchema, [
    { name: 'Node', type: 'string', jsonPath: '.spec.nodeName', description: 'Node name.' },
    { name: 'Pool', type: 'string', jsonPath: '.spec.thinPool', description: 'ThinPool name.', priority: 1 },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Lifecycle phase.' },
    { name: 'Data%', type: 'number', jsonPath: '.status.pool.dataUsedPercent', description: 'Data use.' },
    {
      name: 'Metadata%',
      type: 'number',
      jsonPath: '.status.pool.metadataUsedPercent',
      description: 'Metadata use.',
    },
    readyCondition(1),
    {
      name: 'Heartbeat',
      type: 'date',
      jsonPath: '.status.lastHeartbeatTime',
      description: 'Last report of the agent.',
      priority: 1,
    },
    age,
  ]);
}

/** Every CRD with the file name it is written to (`<group>_<plural>.yaml`, as controller-gen names them). */
export function crdFiles(): { fileName: string; crd: CustomResourceDefinition }[] {
  return [thinPoolCrd(), thinPoolNodeCrd()].map((definition) => ({
    fileName: `${definition.spec.group}_${definition.spec.names.plural}.yaml`,
    crd: definition,
  }));
}

/** Header of every generated CRD file. */
export const GENERATED_HEADER =
  '# Generated by `make crds` (api/generate-crds.ts) from api/v1alpha1/schema.ts and crds.ts. DO NOT EDIT.\n';

/** The YAML of a CRD file: header, then the object, long lines unfolded. */
export function renderCrd(definition: CustomResourceDefinition): string {
  return `${GENERATED_HEADER}---\n${stringify(definition, { lineWidth: 0 })}`;
}
