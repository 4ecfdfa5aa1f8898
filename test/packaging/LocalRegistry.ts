import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

/** A package as `npm pack` made it. */
export interface PackedPackage {
  /** Its package.json, as in the tarball. */
  manifest: { name: string; version: string } & Record<string, unknown>;
  tarball: Buffer;
}

/**
 * The smallest npm registry npm and pnpm install from: a packument per
 * package (`GET /<name>`, the scoped name's slash escaped or not) and its
 * tarballs (`GET /<name>/-/<file>.tgz`). Projects point one scope at it
 * (`@scope:registry=…` in .npmrc); every other package comes from the real
 * registry. It records what it served, so a test can tell that a client
 * used it.
 */
export class LocalRegistry {
  private readonly _server: Server;
  private readonly _packuments = new Map<string, string>();
  private readonly _tarballs = new Map<string, Buffer>();
  private readonly _served: string[] = [];
  private readonly _packages: PackedPackage[];
  private _url = '';

  constructor(packages: PackedPackage[]) {
    this._packages = packages;
    this._server = createServer((request, response) => {
      const path = decodeURIComponent(
        new URL(request.url ?? '/', 'http://x').pathname
      );
      const tarball = this._tarballs.get(path);
      const packument = this._packuments.get(path);
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405).end();
      } else if (tarball) {
        this._served.push(path);
        response
          .writeHead(200, {
            'content-type': 'application/octet-stream',
            'content-length': tarball.length,
          })
          .end(tarball);
      } else if (packument) {
        this._served.push(path);
        response
          .writeHead(200, {
            'content-type': 'application/json',
            'cache-control': 'no-cache',
          })
          .end(packument);
      } else {
        response
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: 'Not found' }));
      }
    });
  }

  /** The registry's address, ending in a slash, once started. */
  get url(): string {
    return this._url;
  }

  /** Paths served so far (packuments and tarballs), in order. */
  get served(): readonly string[] {
    return this._served;
  }

  /** The path of `name`'s tarball. */
  tarballPath(name: string, version: string): string {
    return `/${name}/-/${name.split('/').pop()}-${version}.tgz`;
  }

  async start(): Promise<void> {
    await new Promise<void>(resolve =>
      this._server.listen(0, '127.0.0.1', resolve)
    );
    const { port } = this._server.address() as AddressInfo;
    this._url = `http://127.0.0.1:${port}/`;
    const byName = new Map<string, PackedPackage[]>();
    for (const pkg of this._packages)
      byName.set(pkg.manifest.name, [
        ...(byName.get(pkg.manifest.name) ?? []),
        pkg,
      ]);
    for (const [name, versions] of byName) {
      const packument = {
        name,
        'dist-tags': { latest: versions[versions.length - 1].manifest.version },
        versions: Object.fromEntries(
          versions.map(({ manifest, tarball }) => {
            const path = this.tarballPath(name, manifest.version);
            this._tarballs.set(path, tarball);
            const dist = {
              tarball: new URL(path.slice(1), this._url).href,
              shasum: createHash('sha1').update(tarball).digest('hex'),
              integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
            };
            return [
              manifest.version,
              { ...manifest, _id: `${name}@${manifest.version}`, dist },
            ];
          })
        ),
      };
      this._packuments.set(`/${name}`, JSON.stringify(packument));
    }
  }

  async close(): Promise<void> {
    this._server.closeAllConnections();
    await new Promise<void>(resolve => this._server.close(() => resolve()));
  }
}
