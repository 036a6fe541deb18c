import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { REPO_ROOT } from './helm.js';

/**
 * The image cannot be built here (no Docker daemon), so these checks keep the Dockerfile consistent with
 * the repository: what it copies exists and survives .dockerignore, it compiles what tsconfig.json
 * compiles, and its two commands start the programs package.json declares.
 */

interface Instruction {
  keyword: string;
  value: string;
}

function parseDockerfile(text: string): Instruction[] {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  return logical.map((line) => {
    const [keyword, ...rest] = line.split(/\s+/);
    return { keyword: keyword.toUpperCase(), value: rest.join(' ') };
  });
}

function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i];
    if (char === '*' && glob[i + 1] === '*') {
      source += '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}(/.*)?$`);
}

/** True when a path of the build context survives .dockerignore (the last matching pattern decides). */
function inBuildContext(patterns: string[], file: string): boolean {
  let included = true;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const glob = (negated ? pattern.slice(1) : pattern).replace(/\/$/, '');
    if (globToRegExp(glob).test(file)) included = negated;
  }
  return included;
}

const instructions = parseDockerfile(readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const ignorePatterns = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const packageJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
};
const tsconfig = JSON.parse(readFileSync(path.join(REPO_ROOT, 'tsconfig.json'), 'utf8')) as {
  include: string[];
};

describe('.dockerignore matching', () => {
  it('applies the last matching pattern', () => {
    const patterns = ['*', '!api/', '**/*.test.ts'];
    expect(inBuildContext(patterns, 'api/v1alpha1/types.ts')).toBe(true);
    expect(inBuildContext(patterns, 'api/v1alpha1/types.test.ts')).toBe(false);
    expect(inBuildContext(patterns, 'test/chart/helm.ts')).toBe(false);
  });
});

describe('Dockerfile', () => {
  const stages = instructions.filter((i) => i.keyword === 'FROM');
  const copies = instructions.filter((i) => i.keyword === 'COPY' && !i.value.startsWith('--from='));
  const runs = instructions.filter((i) => i.keyword === 'RUN').map((i) => i.value);

  it('builds in stages and runs on Node 22 slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const nodeImage = instructions.find((i) => i.keyword === 'ARG' && i.value.startsWith('NODE_IMAGE='));
    expect(nodeImage?.value).toMatch(/^NODE_IMAGE=node:22-[a-z]+-slim$/);
    expect(stages.at(-1)?.value).toBe('${NODE_IMAGE}');
  });

  it('installs the LVM tools the agent runs in the final stage', () => {
    const finalStage = instructions.slice(instructions.lastIndexOf(stages.at(-1) as Instruction));
    const install = finalStage.find((i) => i.keyword === 'RUN' && i.value.includes('apt-get install'));
    for (const pkg of ['lvm2', 'thin-provisioning-tools', 'util-linux']) {
      expect(install?.value.split(/\s+/)).toContain(pkg);
    }
    expect(install?.value).toContain('--no-install-recommends');
  });

  it('copies only paths that exist and survive .dockerignore', () => {
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const sources = copy.value.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        expect({ source, exists: existsSync(path.join(REPO_ROOT, source)) }).toEqual({
          source,
          exists: true,
        });
        expect({ source, inContext: inBuildContext(ignorePatterns, source) }).toEqual({
          source,
          inContext: true,
        });
      }
    }
  });

  it('compiles every directory tsconfig.json compiles', () => {
    const copied = copies.flatMap((c) => c.value.split(/\s+/).slice(0, -1));
    for (const directory of tsconfig.include) expect(copied).toContain(directory);
    expect(runs).toContain('npx tsc -p tsconfig.json');
  });

  it('starts both programs of package.json with their own command', () => {
    const commands = runs.find((run) => run.includes('/usr/local/bin/thinpool-operator')) ?? '';
    for (const [command, script] of Object.entries(packageJson.bin)) {
      expect(commands).toContain(`exec node /opt/thinpool-operator/${script} "$@"`);
      expect(commands).toContain(`> /usr/local/bin/${command}`);
    }
    expect(instructions.find((i) => i.keyword === 'CMD')?.value).toBe('["thinpool-operator"]');
  });
});
