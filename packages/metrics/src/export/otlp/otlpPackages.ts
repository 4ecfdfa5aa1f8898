import { dirname } from 'node:path';
import type * as ExporterPackage from '@opentelemetry/exporter-metrics-otlp-http';
import type * as ExporterBasePackage from '@opentelemetry/otlp-exporter-base/node-http';
import type * as TransformerPackage from '@opentelemetry/otlp-transformer';

/** The one package a user installs for OTLP export; it brings the other two. */
export const OTLP_EXPORTER_PACKAGE =
  '@opentelemetry/exporter-metrics-otlp-http';

export interface OtlpPackages {
  exporter: typeof ExporterPackage;
  exporterBase: typeof ExporterBasePackage;
  transformer: typeof TransformerPackage;
}

/**
 * Loads the OTLP packages when OTLP export is first used. Only the exporter
 * is a (optional) peer: its transport and serializer packages are its own
 * dependencies at the versions it pins, so they are resolved from its
 * folder, which also works where node_modules is strict (pnpm).
 * @throws {Error} naming the package to install when it is missing.
 */
export function loadOtlpPackages(): OtlpPackages {
  let exporterEntry: string;
  try {
    exporterEntry = require.resolve(OTLP_EXPORTER_PACKAGE);
  } catch (error) {
    throw new Error(
      `OTLP export needs the package ${OTLP_EXPORTER_PACKAGE} (0.223.x for OpenTelemetry JS 2.x, 0.301.x for 3.x): npm install ${OTLP_EXPORTER_PACKAGE}`,
      { cause: error }
    );
  }
  const beside = (name: string): unknown =>
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(require.resolve(name, { paths: [dirname(exporterEntry)] }));
  return {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    exporter: require(exporterEntry),
    exporterBase: beside(
      '@opentelemetry/otlp-exporter-base/node-http'
    ) as OtlpPackages['exporterBase'],
    transformer: beside(
      '@opentelemetry/otlp-transformer'
    ) as OtlpPackages['transformer'],
  };
}
