/**
 * CustomResourceDefinitions: the served resource types of a CRD, its status as the apiextensions
 * controllers set it, and loading CRD manifests from a directory.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { evaluateJsonPath } from './jsonpath.js';
import type { JsonObject } from './patch.js';
import { AGE_COLUMN, type KubeObject, type PrinterColumn, type ResourceType } from './resources.js';

interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: JsonObject };
  subresources?: { status?: object; scale?: object };
  additionalPrinterColumns?: {
    name: string;
    type: PrinterColumn['type'];
    format?: string;
    description?: string;
    priority?: number;
    jsonPath: string;
  }[];
  selectableFields?: { jsonPath: string }[];
}

/** The parts of a CRD the emulator reads. */
export interface CrdSpec {
  group: string;
  scope: 'Namespaced' | 'Cluster';
  names: {
    plural: string;
    singular?: string;
    kind: string;
    listKind?: string;
    shortNames?: string[];
    categories?: string[];
  };
  versions: CrdVersion[];
  preserveUnknownFields?: boolean;
}

function selectableFieldsOf(version: CrdVersion): ((obj: KubeObject) => Record<string, string>) | undefined {
  const paths = (version.selectableFields ?? []).map((f) => f.jsonPath);
  if (paths.length === 0) return undefined;
  return (obj) =>
    Object.fromEntries(
      paths.map((jsonPath) => {
        const value = evaluateJsonPath(jsonPath, obj)[0];
        return [jsonPath.replace(/^\./, ''), value === undefined || value === null ? '' : String(value)];
      }),
    );
}

/** The resource types a CRD serves, one per served version, sharing one storage. */
export function crdResourceTypes(crd: KubeObject): ResourceType[] {
  const spec = crd.spec as CrdSpec;
  const names = spec.names;
  return spec.versions
    .filter((v) => v.served !== false)
    .map((version) => ({
      group: spec.group,
      version: version.name,
      resource: names.plural,
      singular: names.singular || names.kind.toLowerCase(),
      kind: names.kind,
      listKind: names.listKind || `${names.kind}List`,
      namespaced: spec.scope === 'Namespaced',
      shortNames: names.shortNames,
      categories: names.categories,
      statusSubresource: version.subresources?.status !== undefined,
      tracksGeneration: true,
      allowUnconditionalUpdate: false,
      allowCreateOnUpdate: false,
      returnDeletedObject: true,
      storage: `${spec.group}/${names.plural}`,
      selectableFields: selectableFieldsOf(version),
      printerColumns: version.additionalPrinterColumns?.length
        ? version.additionalPrinterColumns.map((c) => ({ ...c }))
        : [AGE_COLUMN],
      custom: {
        crdName: crd.metadata.name ?? '',
        schema: version.schema?.openAPIV3Schema,
        preserveUnknownFields: spec.preserveUnknownFields === true,
      },
    }));
}

/** The status the apiextensions controllers give an accepted CRD (names accepted, established). */
export function establishedStatus(crd: KubeObject, now: string): JsonObject {
  const spec = crd.spec as CrdSpec;
  const storageVersion = spec.versions.find((v) => v.storage)?.name ?? spec.versions[0]?.name;
  const previous = ((crd.status as JsonObject | undefined)?.storedVersions as string[] | undefined) ?? [];
  const condition = (type: string, reason: string, message: string): JsonObject => ({
    type,
    status: 'True',
    lastTransitionTime: now,
    reason,
    message,
  });
  return {
    acceptedNames: JSON.parse(JSON.stringify(spec.names)) as JsonObject,
    conditions: [
      condition('NamesAccepted', 'NoConflicts', 'no conflicts found'),
      condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted'),
    ],
    storedVersions: [...new Set([...previous, ...(storageVersion ? [storageVersion] : [])])],
  };
}

/** Reads every CustomResourceDefinition document in the YAML files of a directory (sorted by name). */
export async function loadCrdManifests(directory: string): Promise<KubeObject[]> {
  const files = (await readdir(directory)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const crds: KubeObject[] = [];
  for (const file of files) {
    const text = await readFile(path.join(directory, file), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) throw new Error(`Invalid YAML in ${file}: ${doc.errors[0].message}`);
      const value = doc.toJS() as KubeObject | null;
      if (value?.kind === 'CustomResourceDefinition') crds.push(value);
    }
  }
  return crds;
}
