/** Container paths the agent Pod mounts itself; a spec path may not shadow them. */
export const RESERVED_MOUNT_PATHS = ['/host', '/dev', '/run/udev', '/etc/lvm'] as const;

/** Host paths no pool directory may live under. */
const FORBIDDEN_HOST_PREFIXES = ['/proc', '/sys', '/dev'] as const;

const SAFE_PATH = /^\/[A-Za-z0-9._:@+\-/]+$/;

function isUnder(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * Validates a host directory taken from a ThinPool spec before it becomes a hostPath volume: absolute,
 * normalised (no `.`/`..` segments, no `//`, no trailing `/`), a conservative character set, not `/`, not in
 * the kernel's pseudo filesystems, and not where the agent mounts something else. Returns the problem, or
 * undefined when the path is acceptable.
 */
export function hostDirectoryProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must be an absolute path';
  if (path === '/') return 'must not be the root directory';
  if (path.length > 4096) return 'must be at most 4096 characters';
  if (!SAFE_PATH.test(path)) return 'may only contain letters, digits, "/" and "._:@+-"';
  if (path.endsWith('/') || path.includes('//')) return 'must be normalised (no trailing or double "/")';
  if (path.split('/').some((segment) => segment === '.' || segment === '..')) {
    return 'must not contain "." or ".." segments';
  }
  const forbidden = FORBIDDEN_HOST_PREFIXES.find((prefix) => isUnder(path, prefix));
  if (forbidden) return `must not be under ${forbidden}`;
  const reserved = RESERVED_MOUNT_PATHS.find((prefix) => isUnder(path, prefix) || isUnder(prefix, path));
  if (reserved) return `must not overlap ${reserved}, where the agent mounts something else`;
  return undefined;
}
