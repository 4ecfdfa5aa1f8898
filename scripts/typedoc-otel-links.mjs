// A TypeDoc plugin: a link in a doc comment our classes inherit from an
// OpenTelemetry package (e.g. `{@link Aggregation}` on selectAggregation,
// a name that package no longer exports) goes to that package's reference
// instead of failing the link check, which stays strict for our comments.
const OTEL_DOCS = 'https://open-telemetry.github.io/opentelemetry-js/modules/';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.addUnknownSymbolResolver((_ref, reflection) => {
    const file = reflection?.sources?.[0]?.fullFileName ?? '';
    const match = /node_modules\/@opentelemetry\/([^/]+)\//.exec(file);
    return match ? `${OTEL_DOCS}_opentelemetry_${match[1]}.html` : undefined;
  });
}
