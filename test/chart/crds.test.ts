import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, jest } from '@jest/globals';
import { parse } from 'yaml';
import { validateAndDefault, type JSONSchemaProps } from '../../api/validation/index.js';
import {
  ALL_OPTIONS_VALUES,
  CHART_DIR,
  REPO_ROOT,
  findOne,
  helm,
  parseManifests,
  renderChart,
  templateArgs,
} from './helm.js';
import type { RenderedObject } from './helm.js';
import { validateBuiltIn } from './kube-schema.js';

// These tests run the real helm binary; the machine may be busy.
jest.setTimeout(120_000);

const TOP_LEVEL_CRDS = path.join(REPO_ROOT, 'crds');
const CHART_CRDS = path.join(CHART_DIR, 'crds');

interface CustomResourceDefinition extends RenderedObject {
  spec: {
    names: { kind: string };
    versions: { name: string; schema: { openAPIV3Schema: JSONSchemaProps } }[];
  };
}

const yamlFiles = (directory: string) =>
  readdirSync(directory)
    .filter((f) => f.endsWith('.yaml'))
    .sort();

function crdOf(kind: string): CustomResourceDefinition {
  for (const file of yamlFiles(CHART_CRDS)) {
    const crd = parse(readFileSync(path.join(CHART_CRDS, file), 'utf8')) as CustomResourceDefinition;
    if (crd.spec.names.kind === kind) return crd;
  }
  throw new Error(`No CRD of kind ${kind} in ${CHART_CRDS}`);
}

describe('the chart CRDs', () => {
  it('are byte-identical to the top-level crds/, file for file', () => {
    const files = yamlFiles(TOP_LEVEL_CRDS);
    expect(files).toEqual(
      expect.arrayContaining(['thinpool.dev_thinpools.yaml', 'thinpool.dev_thinpoolnodes.yaml']),
    );
    expect(yamlFiles(CHART_CRDS)).toEqual(files);
    for (const file of files) {
      expect({
        file,
        same:
          readFileSync(path.join(CHART_CRDS, file), 'utf8') ===
          readFileSync(path.join(TOP_LEVEL_CRDS, file), 'utf8'),
      }).toEqual({ file, same: true });
    }
  });

  it('are what helm installs (--include-crds), and valid CustomResourceDefinitions', async () => {
    const result = await helm([...templateArgs(), '--include-crds']);
    expect(result.exitCode).toBe(0);
    const rendered = parseManifests(result.stdout).filter((o) => o.kind === 'CustomResourceDefinition');
    const files = yamlFiles(TOP_LEVEL_CRDS).map((f) =>
      parse(readFileSync(path.join(TOP_LEVEL_CRDS, f), 'utf8')),
    );
    expect(rendered.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))).toEqual(
      files.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)),
    );
    for (const crd of rendered) await validateBuiltIn(crd);
  });
});

describe('the example ThinPool', () => {
  let example: RenderedObject;
  beforeAll(async () => {
    example = findOne(await renderChart({ valuesFiles: [ALL_OPTIONS_VALUES] }), 'ThinPool');
  });

  it('is valid against the ThinPool CRD, with no field the API server would prune', () => {
    const crd = crdOf('ThinPool');
    const version = crd.spec.versions.find((v) => example.apiVersion === `thinpool.dev/${v.name}`);
    expect(version).toBeDefined();
    const result = validateAndDefault(version!.schema.openAPIV3Schema, example);
    expect(result.errors).toEqual([]);
    expect(result.unknownFields).toEqual([]);
  });

  it('would be rejected by the same check when its spec is wrong', () => {
    const crd = crdOf('ThinPool');
    const broken = { ...example, spec: { ...(example.spec as object), loop: { directory: 'relative/dir' } } };
    const result = validateAndDefault(crd.spec.versions[0].schema.openAPIV3Schema, broken);
    expect(result.errors.length).toBeGreaterThan(0);
  });
});
