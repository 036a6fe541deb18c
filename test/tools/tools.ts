import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** External binaries the chart, alert and e2e tests run for real. */
export type ToolName = 'helm' | 'kubectl' | 'promtool';

const OVERRIDES: Record<ToolName, string> = {
  helm: 'THINPOOL_HELM',
  kubectl: 'THINPOOL_KUBECTL',
  promtool: 'THINPOOL_PROMTOOL',
};

/** The cache `test/tools/fetch-tools.sh` fills: `THINPOOL_TOOLS_CACHE`, else `$XDG_CACHE_HOME/thinpool-tools`. */
export function toolsCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.THINPOOL_TOOLS_CACHE) return env.THINPOOL_TOOLS_CACHE;
  const cacheHome = env.XDG_CACHE_HOME || path.join(env.HOME || homedir(), '.cache');
  return path.join(cacheHome, 'thinpool-tools');
}

/**
 * Absolute path of a tool: its override variable (`THINPOOL_HELM`, ...) or the fetched copy in the cache.
 * Throws, never skips, when the binary is missing, naming the command that fetches it.
 */
export function toolPath(tool: ToolName, env: NodeJS.ProcessEnv = process.env): string {
  const candidate = env[OVERRIDES[tool]] || path.join(toolsCacheDir(env), 'bin', tool);
  try {
    accessSync(candidate, constants.X_OK);
  } catch {
    throw new Error(
      `${tool} not found at ${candidate}: run test/tools/fetch-tools.sh (make test does) or set ${OVERRIDES[tool]}`,
    );
  }
  return candidate;
}
