import { readFile } from 'node:fs/promises';
import type { TokenSource } from './http-transport.js';

/** Options of {@link fileTokenSource}. */
export interface FileTokenSourceOptions {
  /** Re-read the file when the token in hand is older than this (default 60 s, as client-go). */
  refreshMs?: number;
  /** Milliseconds now (tests pass a manual clock). */
  now?: () => number;
  /** Reads the file (default `fs.promises.readFile`). */
  read?: (path: string) => Promise<string>;
}

/**
 * A bearer token read from a file and re-read when it may have rotated: the kubelet rewrites a projected
 * ServiceAccount token before it expires (about hourly), so a token kept forever would stop working. The
 * file is re-read at most every `refreshMs`, and at once after the server answered 401.
 */
export function fileTokenSource(path: string, options: FileTokenSourceOptions = {}): TokenSource {
  const refreshMs = options.refreshMs ?? 60_000;
  const now = options.now ?? Date.now;
  const read = options.read ?? ((file: string) => readFile(file, 'utf8'));
  let cached: { token: string; readAt: number } | undefined;
  return {
    async token() {
      if (cached && now() - cached.readAt < refreshMs) return cached.token;
      let text: string;
      try {
        text = await read(path);
      } catch (err) {
        throw new Error(`Failed to read the API token file ${path}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      cached = { token: text.trim(), readAt: now() };
      return cached.token || undefined;
    },
    invalidate() {
      cached = undefined;
    },
  };
}

/** A fixed bearer token. */
export function staticTokenSource(token: string): TokenSource {
  return { token: async () => token };
}
