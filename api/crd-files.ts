/**
 * The CRD files of the repository: where `make crds` writes them and how to tell whether the committed
 * ones are current. `generate-crds.ts` is the command line around this.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crdFiles, renderCrd } from './v1alpha1/crds.js';

/** Directories, relative to the repository root, that receive the CRD files (Helm installs from the second). */
export const CRD_OUTPUT_DIRECTORIES = ['crds', 'charts/thinpool-operator/crds'];

/** Every generated file: its path relative to the repository root and its expected content. */
export function expectedCrdFiles(): { path: string; content: string }[] {
  return CRD_OUTPUT_DIRECTORIES.flatMap((directory) =>
    crdFiles().map(({ fileName, crd }) => ({ path: `${directory}/${fileName}`, content: renderCrd(crd) })),
  );
}

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Relative paths of the CRD files under `root` that are missing or differ from what the API generates. */
export async function staleCrdFiles(root: string): Promise<string[]> {
  const stale: string[] = [];
  for (const { path, content } of expectedCrdFiles()) {
    if ((await readOrUndefined(join(root, path))) !== content) stale.push(path);
  }
  return stale;
}

/** Writes the stale CRD files under `root`; returns the relative paths written. */
export async function writeCrdFiles(root: string): Promise<string[]> {
  const stale = new Set(await staleCrdFiles(root));
  const written: string[] = [];
  for (const { path, content } of expectedCrdFiles()) {
    if (!stale.has(path)) continue;
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
    written.push(path);
  }
  return written;
}
