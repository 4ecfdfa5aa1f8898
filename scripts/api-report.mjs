#!/usr/bin/env node
// The public API of every published package, one report per entry point of
// its `exports` map (packages/<p>/api-report/<entry>.api.md), made by API
// Extractor from the built declarations. `--check` (npm test) fails when a
// report differs from the one checked in: a change to the public surface is
// then a visible diff; `npm run api:update` writes the new reports.
import { readFileSync, readdirSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = resolve(import.meta.dirname, '..');
const check = process.argv.includes('--check');
let failed = 0;

for (const name of readdirSync(join(root, 'packages'))) {
  const folder = join(root, 'packages', name);
  const pkg = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8'));
  if (pkg.private || !pkg.exports) continue;
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (typeof target !== 'object' || !target.types) continue;
    const entry = subpath === '.' ? 'index' : subpath.slice(2);
    const temp = join(root, '.cache', 'api-report', name);
    mkdirSync(temp, { recursive: true });
    mkdirSync(join(folder, 'api-report'), { recursive: true });
    const config = ExtractorConfig.prepare({
      configObjectFullPath: join(folder, 'api-extractor.json'),
      packageJsonFullPath: join(folder, 'package.json'),
      configObject: {
        projectFolder: folder,
        mainEntryPointFilePath: join(folder, target.types),
        compiler: { tsconfigFilePath: join(folder, 'tsconfig.json') },
        apiReport: {
          enabled: true,
          reportFolder: join(folder, 'api-report'),
          reportTempFolder: temp,
          reportFileName: `${entry}.api.md`,
        },
        docModel: { enabled: false },
        dtsRollup: { enabled: false },
        tsdocMetadata: { enabled: false },
        messages: {
          extractorMessageReporting: {
            default: { logLevel: 'warning' },
            'ae-missing-release-tag': { logLevel: 'none' },
            'ae-undocumented': { logLevel: 'none' },
            // Links are TypeDoc's to check (npm run docs), with its resolution.
            'ae-unresolved-link': { logLevel: 'none' },
            'ae-forgotten-export': {
              logLevel: 'none',
              addToApiReportFile: true,
            },
          },
          tsdocMessageReporting: { default: { logLevel: 'none' } },
        },
      },
    });
    const result = Extractor.invoke(config, {
      localBuild: !check,
      showVerboseMessages: false,
      messageCallback: message => {
        if (message.logLevel === 'warning') {
          console.warn(`${pkg.name}${subpath.slice(1)}: ${message.text}`);
          message.handled = true;
        }
      },
    });
    const label = `${pkg.name}${subpath === '.' ? '' : subpath.slice(1)}`;
    const report = `packages/${name}/api-report/${entry}.api.md`;
    if (!result.succeeded) {
      failed++;
      console.error(`api report: ${label} failed`);
    } else if (result.apiReportChanged && check) {
      failed++;
      console.error(
        `api report: the public API of ${label} changed; run \`npm run api:update\` and commit ${report}`
      );
    } else {
      console.log(
        `api report: ${label} ${result.apiReportChanged ? `written to ${report}` : 'unchanged'}`
      );
    }
  }
}
process.exit(failed > 0 ? 1 : 0);
