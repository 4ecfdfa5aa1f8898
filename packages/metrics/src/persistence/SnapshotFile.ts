import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { RateLimitedDiag } from '@datapunk/otel-common';
import type { ResolvedPersistence } from '../options';
import type { Tally } from '../store/Tally';

/**
 * The snapshot on disk. Writes are atomic (a temporary file, fsync, rename,
 * fsync of the directory), so a crash at any moment leaves the previous
 * snapshot or the new one, never a mix. A file that cannot be used is moved
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

  /** The parsed snapshot, or undefined when there is none or it is unusable. */
  read(): unknown {
    this._removeDeadTemporaries();
    let text: string;
    try {
      const { size } = statSync(this._path);
      if (size > this._maxBytes) {
        this._errors.add('read');
        this.moveAside(
          `it is ${size} bytes, over maxFileBytes (${this._maxBytes})`
        );
        return undefined;
      }
      text = readFileSync(this._path, 'utf8');
    } catch (error) {
      // No file there (or no directory): nothing to restore or to protect;
      // writes will report the path and retry.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      this._errors.add('read');
      this.moveAside(`it could not be read: ${(error as Error).message}`);
      return undefined;
    }
    try {
      return JSON.parse(text, refusePrototypeObjects);
    } catch (error) {
      this._errors.add('read');
      const why =
        error instanceof SyntaxError
          ? 'it is not JSON (truncated or corrupt)'
          : 'it is refused';
      this.moveAside(`${why}: ${(error as Error).message}`);
      return undefined;
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
   * Deletes temporary files left by writers that died mid-write (killed or
   * crashed: their process is gone), so crashes do not fill the disk.
   */
  private _removeDeadTemporaries(): void {
    const directory = dirname(this._path);
    const prefix = `${basename(this._path)}.tmp-`;
    try {
      for (const name of readdirSync(directory)) {
        if (!name.startsWith(prefix)) continue;
        const pid = Number(name.slice(prefix.length));
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

  /**
   * Replaces the snapshot atomically with the text of `chunks`, written one
   * after another, making its directory if it is missing; reports and counts
   * failures (saying whether another attempt will come), never throws.
   */
  async write(chunks: readonly string[], final = false): Promise<void> {
    if (!this._writable) return;
    const temporary = `${this._path}.tmp-${process.pid}`;
    try {
      await mkdir(dirname(this._path), { recursive: true });
      const handle = await open(temporary, 'w');
      try {
        for (const chunk of chunks) await handle.write(chunk, null, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, this._path);
      syncDirectory(dirname(this._path));
    } catch (error) {
      this._errors.add('write');
      this._diag.error(
        final ? 'snapshot_final' : 'snapshot_write',
        final
          ? `could not write the final snapshot ${this._path} at shutdown: ${(error as Error).message}`
          : `could not write snapshot ${this._path}, will retry: ${(error as Error).message}`
      );
      await unlink(temporary).catch(() => undefined);
    }
  }
}

/**
 * A JSON.parse reviver refusing a `__proto__` key that holds an object: no
 * snapshot we write has one (attribute values are primitives), and code that
 * copied it by assignment would replace a prototype. A primitive one is a
 * legitimate attribute key.
 */
function refusePrototypeObjects(key: string, value: unknown): unknown {
  if (key === '__proto__' && typeof value === 'object' && value !== null)
    throw new TypeError("a '__proto__' key holds an object");
  return value;
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
