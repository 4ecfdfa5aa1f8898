import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Runtime } from './runtimes';

interface InstalledPackage {
  name: string;
  version: string;
  engines?: { node?: string };
}

/** The version of `name` in the project's top-level node_modules, if there. */
export function versionIn(project: string, name: string): string | undefined {
  const file = join(project, 'node_modules', name, 'package.json');
  return existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as InstalledPackage).version
    : undefined;
}

/** Every package installed in the project, however nested (npm) or linked (pnpm's .pnpm store). */
function installedPackages(project: string): InstalledPackage[] {
  const seen = new Set<string>();
  const found: InstalledPackage[] = [];
  const visitModules = (folder: string): void => {
    if (!existsSync(folder)) return;
    for (const entry of readdirSync(folder)) {
      if (entry === '.pnpm')
        for (const inStore of readdirSync(join(folder, entry)))
          visitModules(join(folder, entry, inStore, 'node_modules'));
      else if (entry.startsWith('@'))
        for (const scoped of readdirSync(join(folder, entry)))
          visitPackage(join(folder, entry, scoped));
      else if (!entry.startsWith('.')) visitPackage(join(folder, entry));
    }
  };
  const visitPackage = (folder: string): void => {
    let real: string;
    try {
      real = realpathSync(folder);
    } catch {
      return; // a dangling link
    }
    if (seen.has(real) || !existsSync(join(real, 'package.json'))) return;
    seen.add(real);
    found.push(
      JSON.parse(
        readFileSync(join(real, 'package.json'), 'utf8')
      ) as InstalledPackage
    );
    visitModules(join(real, 'node_modules'));
  };
  visitModules(join(project, 'node_modules'));
  return found;
}

/**
 * The installed packages whose `engines.node` the runtime's Node does not
 * satisfy, as npm judges it (with the semver of the runtime's own npm).
 */
export function enginesNotMet(project: string, runtime: Runtime): string[] {
  const npm = dirname(dirname(realpathSync(join(runtime.bin, 'npm'))));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const semver = require(join(npm, 'node_modules', 'semver')) as {
    satisfies(version: string, range: string): boolean;
  };
  return installedPackages(project)
    .filter(
      p => p.engines?.node && !semver.satisfies(runtime.node, p.engines.node)
    )
    .map(p => `${p.name}@${p.version}`)
    .sort();
}

/** Counts of the warnings npm and pnpm print about peers and engines. */
export function warningsIn(output: string): string {
  const kinds: [string, RegExp][] = [
    ['EBADENGINE', /EBADENGINE/g],
    ['ERESOLVE', /ERESOLVE/g],
    ['unsupported engine', /Unsupported engine/g],
    ['unmet peer', /unmet peer/g],
    ['missing peer', /missing peer/g],
  ];
  return kinds
    .map(
      ([name, pattern]) => [name, (output.match(pattern) ?? []).length] as const
    )
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `${name} ×${count}`)
    .join(', ');
}
