// Imported first by this entry point: the auto-instrumentations extend
// InstrumentationBase from an optional peer, so say what to install when it
// is missing instead of failing on a bare module name.
const PACKAGE = '@opentelemetry/instrumentation';
try {
  require.resolve(PACKAGE);
} catch (error) {
  throw new Error(
    `the auto-instrumentations need the package ${PACKAGE} (0.223.x for OpenTelemetry JS 2.x, 0.301.x for 3.x): npm install ${PACKAGE}`,
    { cause: error }
  );
}
