import { describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomResourceDefinition as CrdModel } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { parseAllDocuments } from 'yaml';
import {
  CRD_OUTPUT_DIRECTORIES,
  expectedCrdFiles,
  staleCrdFiles,
  writeCrdFiles,
} from '../../../api/crd-files.js';
import {
  crdFiles,
  GENERATED_HEADER,
  SCHEMA_DIGEST_ANNOTATION,
  schemaDigest,
  thinPoolCrd,
  thinPoolNodeCrd,
  type CustomResourceDefinition,
} from '../../../api/v1alpha1/crds.js';
import {
  checkStructuralSchema,
  findUnboundedNodes,
  type JSONSchemaProps,
} from '../../../api/validation/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The schema node a printer column's JSONPath points at (filters like [?(@.type=="Ready")] select items). */
function schemaAt(schema: JSONSchemaProps, jsonPath: string): JSONSchemaProps | undefined {
  // ObjectMeta is not part of a CRD schema; the apiserver serves every metadata field.
  if (jsonPath.startsWith('.metadata.')) return { type: 'string' };
  let node: JSONSchemaProps | undefined = schema;
  for (const part of jsonPath
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/^\./, '')
    .split('.')) {
    node = node?.properties?.[part.replace('[]', '')];
    if (part.endsWith('[]')) node = node?.items;
  }
  return node;
}

describe.each([
  ['ThinPool', thinPoolCrd(), 'thinpools', 'tp'],
  ['ThinPoolNode', thinPoolNodeCrd(), 'thinpoolnodes', 'tpn'],
] as [string, CustomResourceDefinition, string, string][])('the %s CRD', (kind, crd, plural, shortName) => {
  const version = crd.spec.versions[0];
  const schema = version.schema.openAPIV3Schema;

  it('is a valid apiextensions.k8s.io/v1 CustomResourceDefinition object', () => {
    expect(() => new CrdModel(JSON.parse(JSON.stringify(crd))).validate()).not.toThrow();
    expect(crd.metadata.name).toBe(`${plural}.thinpool.dev`);
  });

  it('is cluster-scoped, in category storage, with its short name and the status subresource', () => {
    expect(crd.spec).toMatchObject({
      group: 'thinpool.dev',
      scope: 'Cluster',
      names: {
        kind,
        plural,
        singular: kind.toLowerCase(),
        listKind: `${kind}List`,
        shortNames: [shortName],
        categories: ['storage'],
      },
    });
    expect(crd.spec.versions).toHaveLength(1);
    expect(version).toMatchObject({
      name: 'v1alpha1',
      served: true,
      storage: true,
      subresources: { status: {} },
    });
  });

  it('has a structural schema: every node typed, defaults pruned and valid, rules compiling', () => {
    expect(checkStructuralSchema(schema)).toEqual([]);
  });

  it('bounds every string, list and map, so the CEL cost estimate stays finite', () => {
    expect(findUnboundedNodes(schema)).toEqual([]);
  });

  it('has printer columns that point at fields of the schema', () => {
    const names = version.additionalPrinterColumns.map((column) => column.name);
    expect(names).toContain('Age');
    expect(names).toContain('Data%');
    expect(names).toContain('Metadata%');
    for (const column of version.additionalPrinterColumns) {
      const target = schemaAt(schema, column.jsonPath);
      expect([column.jsonPath, target === undefined]).toEqual([column.jsonPath, false]);
      if (column.type !== 'date' && target?.type !== 'object') {
        const expected = column.type === 'number' ? ['number', 'integer'] : [column.type];
        expect([column.jsonPath, expected.includes(String(target?.type))]).toEqual([column.jsonPath, true]);
      }
    }
  });

  it('carries the digest of its spec', () => {
    expect(crd.metadata.annotations[SCHEMA_DIGEST_ANNOTATION]).toBe(schemaDigest(crd.spec));
    expect(schemaDigest(crd.spec)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('the ThinPool printer columns', () => {
  it('show ready and desired nodes, data and metadata use, Ready and Age', () => {
    const columns = thinPoolCrd().spec.versions[0].additionalPrinterColumns.filter(
      (column) => !column.priority,
    );
    expect(columns.map((column) => [column.name, column.jsonPath])).toEqual([
      ['Desired', '.status.nodes.desired'],
      ['Ready Nodes', '.status.nodes.ready'],
      ['Data%', '.status.capacity.dataUsedPercent'],
      ['Metadata%', '.status.capacity.metadataUsedPercent'],
      ['Ready', '.status.conditions[?(@.type=="Ready")].status'],
      ['Age', '.metadata.creationTimestamp'],
    ]);
  });
});

describe('the committed CRD YAML', () => {
  it.each(expectedCrdFiles().map((file) => [file.path, file.content]))(
    '%s equals what make crds generates',
    async (path, content) => {
      expect(await readFile(join(ROOT, path), 'utf8')).toBe(content);
    },
  );

  it('parses back to exactly the CRD objects, after the do-not-edit header', () => {
    for (const { fileName, crd } of crdFiles()) {
      for (const directory of CRD_OUTPUT_DIRECTORIES) {
        const text =
          expectedCrdFiles().find((file) => file.path === `${directory}/${fileName}`)?.content ?? '';
        expect(text.startsWith(GENERATED_HEADER)).toBe(true);
        expect(text).toContain('DO NOT EDIT');
        const documents = parseAllDocuments(text);
        expect(Array.isArray(documents) ? documents.map((document) => document.toJS()) : []).toEqual([crd]);
      }
    }
  });
});

describe('writeCrdFiles and staleCrdFiles (make crds and its --check mode)', () => {
  it('writes missing files, reports none stale after, and reports a hand-edited file', async () => {
    const root = await mkdtemp(join(tmpdir(), 'crds-'));
    try {
      const all = expectedCrdFiles().map((file) => file.path);
      expect(await staleCrdFiles(root)).toEqual(all);
      expect(await writeCrdFiles(root)).toEqual(all);
      expect(await staleCrdFiles(root)).toEqual([]);
      expect(await writeCrdFiles(root)).toEqual([]);
      const edited = join(root, all[1]);
      await writeFile(edited, (await readFile(edited, 'utf8')).replace('maxLength: 253', 'maxLength: 254'));
      expect(await staleCrdFiles(root)).toEqual([all[1]]);
      expect(await writeCrdFiles(root)).toEqual([all[1]]);
      expect(await staleCrdFiles(root)).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
