/**
 * The guest kernel and initramfs, prepared by `test/vm/setup` in its cache (never in the repo).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is test/vm/image.ts). */
export const REPO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Kernel, initramfs and module tree of the guest. */
export interface VmImage {
  kernelVersion: string;
  kernel: string;
  initrd: string;
  modulesDir: string;
}

/** The VM cannot start on this machine; `reason` says why, in one line. */
export class VmUnavailableError extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(`The test VM is unavailable: ${reason}`);
    this.name = 'VmUnavailableError';
    this.reason = reason;
  }
}

/** Parses the KEY=VALUE manifest printed by `test/vm/setup --print-env`. */
export function parseManifest(text: string): VmImage {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const need = (key: string): string => {
    const value = values.get(key);
    if (!value) throw new VmUnavailableError(`test/vm/setup printed no ${key}`);
    return value;
  };
  return {
    kernelVersion: need('KERNEL_VERSION'),
    kernel: need('KERNEL'),
    initrd: need('INITRD'),
    modulesDir: need('MODULES_DIR'),
  };
}

/**
 * Runs `test/vm/setup --no-install` (fast when the cache is current: it only rebuilds the initramfs when
 * the init script changed) and returns the image. Never installs packages: `make test` runs the full
 * setup first. Rejects with {@link VmUnavailableError} carrying setup's own message.
 */
export function prepareImage(): Promise<VmImage> {
  const setup = path.join(REPO_DIR, 'test/vm/setup');
  return new Promise((resolve, reject) => {
    execFile(
      setup,
      ['--no-install', '--quiet', '--print-env'],
      { timeout: 600_000 },
      (err, stdout, stderr) => {
        if (err) {
          const message = stderr.trim().split('\n').pop() || err.message;
          reject(new VmUnavailableError(message.replace(/^test\/vm\/setup: /, '')));
          return;
        }
        try {
          resolve(parseManifest(stdout));
        } catch (parseError) {
          reject(parseError);
        }
      },
    );
  });
}
