import { constants } from 'node:fs';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FileStat, FileType, WriteFileOptions } from './host.js';

/**
 * File access for a host whose root is mounted at `root` ("/" for a local host, "/host" in a pod).
 * Paths are host paths: absolute and normalised; anything else is refused.
 */
export class HostFiles {
  constructor(private readonly root: string = '/') {}

  /** Maps a host path to the local path under the root, refusing relative or non-normalised paths. */
  resolve(hostPath: string): string {
    if (
      !path.isAbsolute(hostPath) ||
      path.posix.normalize(hostPath) !== hostPath ||
      hostPath.includes('\0')
    ) {
      throw new Error(`Refused host path ${JSON.stringify(hostPath)}: it must be absolute and normalised`);
    }
    return this.root === '/' ? hostPath : path.posix.join(this.root, hostPath);
  }

  /** Reads a text file; `undefined` when it does not exist. */
  async readFile(hostPath: string): Promise<string | undefined> {
    try {
      return await readFile(this.resolve(hostPath), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Writes a file atomically: a temporary file in the same directory, fsync, rename, fsync the directory. */
  async writeFile(hostPath: string, content: string, options: WriteFileOptions = {}): Promise<void> {
    const target = this.resolve(hostPath);
    const dir = path.dirname(target);
    const temp = path.join(
      dir,
      `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
    );
    const handle = await open(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
      options.mode ?? 0o644,
    );
    try {
      await handle.writeFile(content, 'utf8');
      await handle.chmod(options.mode ?? 0o644);
      await handle.sync();
    } catch (err) {
      await handle.close();
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    await handle.close();
    try {
      await rename(temp, target);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    const dirHandle = await open(dir, constants.O_RDONLY);
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  }

  /** Stats a path, following symlinks. */
  async stat(hostPath: string): Promise<FileStat> {
    try {
      const s = await stat(this.resolve(hostPath));
      let type: FileType = 'other';
      if (s.isFile()) type = 'file';
      else if (s.isDirectory()) type = 'directory';
      else if (s.isBlockDevice()) type = 'block-device';
      else if (s.isCharacterDevice()) type = 'character-device';
      return { exists: true, type, sizeBytes: s.size, mode: s.mode & 0o7777, mtimeMs: s.mtimeMs };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { exists: false };
      throw err;
    }
  }
}
