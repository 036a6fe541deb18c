import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { toolPath } from '../tools/tools.js';

/** Root of the repository. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The chart under test. */
export const CHART_DIR = path.join(REPO_ROOT, 'charts', 'thinpool-operator');
/** Values that turn every optional object on (chart-testing's ci/ convention). */
export const ALL_OPTIONS_VALUES = path.join(CHART_DIR, 'ci', 'all-options-values.yaml');

/** A rendered Kubernetes object. */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** Result of one helm run. */
export interface HelmResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

let helmHome: string | undefined;

/** Runs the real helm binary with its cache, config and data in a private temporary directory. */
export async function helm(args: string[], env: Record<string, string> = {}): Promise<HelmResult> {
  helmHome ??= mkdtempSync(path.join(tmpdir(), 'thinpool-helm-'));
  const result = await execa(toolPath('helm'), args, {
    reject: false,
    env: {
      HELM_CACHE_HOME: path.join(helmHome, 'cache'),
      HELM_CONFIG_HOME: path.join(helmHome, 'config'),
      HELM_DATA_HOME: path.join(helmHome, 'data'),
      ...env,
    },
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Options of {@link renderChart}. */
export interface RenderOptions {
  release?: string;
  namespace?: string;
  valuesFiles?: string[];
  set?: Record<string, string>;
}

/** `helm template` arguments for the options. */
export function templateArgs(options: RenderOptions = {}): string[] {
  const args = [
    'template',
    options.release ?? 'thinpool-operator',
    CHART_DIR,
    '--namespace',
    options.namespace ?? 'thinpool-system',
  ];
  for (const file of options.valuesFiles ?? []) args.push('--values', file);
  for (const [key, value] of Object.entries(options.set ?? {})) args.push('--set', `${key}=${value}`);
  return args;
}

/** Renders the chart with `helm template` and parses every document; throws with helm's stderr on failure. */
export async function renderChart(options: RenderOptions = {}): Promise<RenderedObject[]> {
  const result = await helm(templateArgs(options));
  if (result.exitCode !== 0)
    throw new Error(`helm template failed (exit ${result.exitCode}): ${result.stderr}`);
  return parseManifests(result.stdout);
}

/** Parses a multi-document YAML stream of manifests, dropping empty documents; throws on YAML errors. */
export function parseManifests(text: string): RenderedObject[] {
  const objects: RenderedObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0)
      throw new Error(`Invalid YAML in rendered manifests: ${document.errors[0].message}`);
    const value = document.toJS() as RenderedObject | null;
    if (value) objects.push(value);
  }
  return objects;
}

/** The one object of a kind (and name, when given); throws when there is not exactly one. */
export function findOne(objects: RenderedObject[], kind: string, name?: string): RenderedObject {
  const matches = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (matches.length !== 1)
    throw new Error(`Expected one ${kind}${name ? ` ${name}` : ''}, found ${matches.length}`);
  return matches[0];
}
