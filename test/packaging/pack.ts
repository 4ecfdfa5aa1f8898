import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { PackedPackage } from './LocalRegistry';

export const ROOT = resolve(__dirname, '..', '..');

/** A workspace package as `npm pack` made it. */
export interface Packed extends PackedPackage {
  /** Its folder under packages/. */
  directory: string;
  /** The paths in the tarball, relative to its package/ folder. */
  files: string[];
  /** A file of the tarball, as text. */
  read(path: string): string;
}

let packed: Packed[] | undefined;

/**
 * Every workspace package that is not private, packed by `npm pack` from
 * its current build (once per process): what `npm publish` would upload.
 */
export function packPublished(): Packed[] {
  if (packed) return packed;
  const destination = mkdtempSync(join(tmpdir(), 'datapunk-packed-'));
  packed = readdirSync(join(ROOT, 'packages'))
    .filter(
      directory =>
        !(
          JSON.parse(
            readFileSync(
              join(ROOT, 'packages', directory, 'package.json'),
              'utf8'
            )
          ) as { private?: boolean }
        ).private
    )
    .map(directory => {
      const [info] = JSON.parse(
        execFileSync(
          'npm',
          ['pack', '--json', '--pack-destination', destination],
          { cwd: join(ROOT, 'packages', directory), encoding: 'utf8' }
        )
      ) as { filename: string; files: { path: string }[] }[];
      const tarball = readFileSync(join(destination, info.filename));
      const read = (path: string): string =>
        execFileSync('tar', ['-xzO', `package/${path}`], {
          input: tarball,
          encoding: 'utf8',
        });
      return {
        directory,
        files: info.files.map(f => f.path),
        read,
        manifest: JSON.parse(read('package.json')) as Packed['manifest'],
        tarball,
      };
    });
  rmSync(destination, { recursive: true, force: true });
  return packed;
}
