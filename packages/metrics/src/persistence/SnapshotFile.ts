import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fsyncSync,
  openSync,
  readdirSync,
  renameSync,
  unlinkSync,
} from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { RateLimitedDiag } from '@datapunk/otel-common';
import type { ResolvedPersistence } from '../options';
import type { Tally } from '../store/Tally';

/** Reading never follows a link and never waits for a writer (a FIFO). */
const READ_FLAGS =
  constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** A temporary file is always a new file of ours: never an existing one, never through a link. */
const CREATE_FLAGS =
  constants.O_WRONLY |
  constants.O_CREAT |
  constants.O_EXCL |
  constants.O_NOFOLLOW;
const READ_CHUNK_BYTES = 1 << 20;

/**
 * The snapshot on disk. Writes are atomic (a new temporary file, fsync,
 * rename, fsync of the directory), so a crash at any moment leaves the
 * previous snapshot or the new one, never a mix. Nothing at the path can
 * steer the reader or the writer: links are not followed, only a regular
 * file is read, reads stop at maxFileBytes read (whatever size the file
 * reports), and temporary files are created exclusively under random names
 * in the snapshot's own directory. A file that cannot be used is moved
 * aside, never overwritten. Nothing here throws: failures are counted and
 * reported through diag.
 */
export class SnapshotFile {
  private readonly _path: string;
  private readonly _maxBytes: number;
  private readonly _errors: Tally;
  private readonly _diag: RateLimitedDiag;
  /** Set when a file that could not be read could not be moved aside either. */
  private _writable = true;

  constructor(
    options: ResolvedPersistence,
    errors: Tally,
    diag: RateLimitedDiag
  ) {
    this._path = options.path;
    this._maxBytes = options.maxFileBytes;
    this._errors = errors;
    this._diag = diag;
  }

  /**
   * The snapshot's bytes, in the chunks read, or undefined when there is
   * none or it is unusable (then moved aside). Read without blocking: the
   * caller decodes and parses it in slices.
   */
  async read(): Promise<Buffer[] | undefined> {
    this._removeDeadTemporaries();
    let handle: FileHandle;
    try {
      handle = await open(this._path, READ_FLAGS);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // No file there (or no directory): nothing to restore or to protect;
      // writes will report the path and retry.
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      return this._refuse(
        code === 'ELOOP'
          ? 'it is a symbolic link (not followed)'
          : `it could not be opened: ${(error as Error).message}`
      );
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile())
        return this._refuse('it is not a regular file (a FIFO, a device…)');
      const chunks: Buffer[] = [];
      let total = 0;
      for (;;) {
        const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length);
        if (bytesRead === 0) break;
        total += bytesRead;
        if (total > this._maxBytes)
          return this._refuse(
            `it holds more than maxFileBytes (${this._maxBytes}) bytes`
          );
        chunks.push(buffer.subarray(0, bytesRead));
      }
      return chunks;
    } catch (error) {
      return this._refuse(`it could not be read: ${(error as Error).message}`);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /**
   * Renames the file to `<path>.corrupt-<time>` so the next snapshot cannot
   * overwrite it; if even that fails, stops writing snapshots.
   */
  moveAside(reason: string): void {
    const aside = `${this._path}.corrupt-${Date.now()}`;
    try {
      renameSync(this._path, aside);
      this._diag.error(
        'snapshot_aside',
        `snapshot ${this._path} was moved to ${aside}, starting empty: ${reason}`
      );
    } catch (error) {
      this._writable = false;
      this._diag.error(
        'snapshot_stuck',
        `snapshot ${this._path} is unusable (${reason}) and could not be moved aside (${(error as Error).message}); no snapshots will be written over it`
      );
    }
  }

  /**
   * Replaces the snapshot atomically with the text of `chunks`, written one
   * after another, making its directory if it is missing; reports and counts
   * failures (saying whether another attempt will come), never throws.
   */
  async write(chunks: readonly string[], final = false): Promise<void> {
    if (!this._writable) return;
    const temporary = `${this._path}.tmp-${process.pid}-${randomBytes(8).toString('hex')}`;
    let created = false;
    try {
      await mkdir(dirname(this._path), { recursive: true });
      const handle = await open(temporary, CREATE_FLAGS, 0o600);
      created = true;
      try {
        // writeFile writes all of a chunk (a plain write may stop short, at
        // a full disk or a size limit, without an error).
        for (const chunk of chunks) await handle.writeFile(chunk, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      // rename replaces whatever is at the path (a link included) and never follows it.
      await rename(temporary, this._path);
      created = false;
      syncDirectory(dirname(this._path));
    } catch (error) {
      this._errors.add('write');
      this._diag.error(
        final ? 'snapshot_final' : 'snapshot_write',
        final
          ? `could not write the final snapshot ${this._path} at shutdown: ${(error as Error).message}`
          : `could not write snapshot ${this._path}, will retry: ${(error as Error).message}`
      );
      if (created) await unlink(temporary).catch(() => undefined);
    }
  }

  private _refuse(reason: string): undefined {
    this._errors.add('read');
    this.moveAside(reason);
    return undefined;
  }

  /**
   * Deletes temporary files left by writers that died mid-write (killed or
   * crashed: their process is gone), so crashes do not fill the disk.
   */
  private _removeDeadTemporaries(): void {
    const directory = dirname(this._path);
    const prefix = `${basename(this._path)}.tmp-`;
    try {
      for (const name of readdirSync(directory)) {
        if (!name.startsWith(prefix)) continue;
        const pid = Number(name.slice(prefix.length).split('-')[0]);
        if (
          pid > 0 &&
          Number.isInteger(pid) &&
          pid !== process.pid &&
          !isAlive(pid)
        )
          unlinkSync(join(directory, name));
      }
    } catch {
      // Best effort: a leftover costs disk space, not correctness.
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Makes a rename durable; best effort (not every platform can open a directory). */
function syncDirectory(directory: string): void {
  try {
    const fd = openSync(directory, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // The rename itself has happened; only its durability is unconfirmed.
  }
}
