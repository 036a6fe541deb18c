/**
 * Writes the CRD YAML files from the API definition: `crds/<group>_<plural>.yaml` and an identical copy in
 * `charts/thinpool-operator/crds/`. Run by `make crds`.
 *
 *   npx tsx api/generate-crds.ts                 write the files that changed
 *   npx tsx api/generate-crds.ts --check         write nothing; exit 1 when a file is missing or differs
 *   npx tsx api/generate-crds.ts --root <dir>    work on another checkout (default: this repository)
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { staleCrdFiles, writeCrdFiles } from './crd-files.js';

async function main(argv: string[]): Promise<number> {
  const rootIndex = argv.indexOf('--root');
  const root =
    rootIndex >= 0 ? resolve(argv[rootIndex + 1] ?? '.') : fileURLToPath(new URL('..', import.meta.url));
  if (argv.includes('--check')) {
    const stale = await staleCrdFiles(root);
    if (stale.length) {
      console.error(`CRD files are out of date, run make crds: ${stale.join(', ')}`);
      return 1;
    }
    console.log('CRD files are up to date');
    return 0;
  }
  const written = await writeCrdFiles(root);
  for (const path of written) console.log(`Wrote ${path}`);
  if (!written.length) console.log('CRD files were already up to date');
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
