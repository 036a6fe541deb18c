/**
 * Shared helpers of the emulator's contract tests: the fixture CRDs, waiting for a condition the emulator
 * reaches asynchronously (GC, watch delivery), and reading a `metav1.Status` out of an ApiException.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiException } from '@kubernetes/client-node';
import { execa } from 'execa';

/** Directory of the contract tests' CRD fixtures (ThinPool-like, cluster-scoped; Widget, namespaced). */
export const FIXTURE_CRDS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'crds');

/** The fixture ThinPool API. */
export const TP = { group: 'thinpool.dev', version: 'v1alpha1', plural: 'thinpools' } as const;
/** The fixture namespaced Widget API. */
export const WIDGET = { group: 'test.thinpool.dev', version: 'v1', plural: 'widgets' } as const;

/** Polls until `check` returns a value other than undefined/false; fails after `attempts` polls. */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  attempts = 200,
): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** The Status body of a failed call (throws if the call succeeded). */
export async function statusOf(call: Promise<unknown>): Promise<{
  code: number;
  reason?: string;
  message?: string;
  details?: { causes?: { reason?: string; field?: string; message?: string }[] };
}> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ApiException) {
      const body = typeof err.body === 'string' ? (JSON.parse(err.body) as object) : (err.body as object);
      return { ...(body as object), code: err.code };
    }
    throw err;
  }
  throw new Error('Expected the call to fail');
}

/** A minimal ThinPool body. */
export function thinPool(name: string, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'thinpool.dev/v1alpha1', kind: 'ThinPool', metadata: { name }, spec };
}

/** Runs the real kubectl with only `home` as its HOME and `home/kubeconfig` as its kubeconfig. */
export function kubectlIn(home: string, cwd?: string) {
  return (...args: string[]) =>
    execa('kubectl', args, {
      cwd,
      reject: false,
      timeout: 60_000,
      stdin: 'ignore',
      env: { KUBECONFIG: path.join(home, 'kubeconfig'), HOME: home },
      extendEnv: false,
    });
}
