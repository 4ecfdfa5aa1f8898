const { MeterProvider } = require('@opentelemetry/sdk-metrics');
const { RetentionMeterProvider, RetentionMetricReader } = require('@datapunk/otel-metrics');
function bench(name, fn, n = 2e6) {
  for (let i = 0; i < n / 10; i++) fn(i);
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const ns = Number(process.hrtime.bigint() - t) / n;
  console.log(name.padEnd(40), ns.toFixed(1), 'ns');
  return ns;
}
const attrs = { 'http.route': '/api/items', 'http.method': 'GET', 'customer.id': 'c-1', region: 'r-1' };
const sdk = new MeterProvider({ readers: [new RetentionMetricReader({collectionIntervalMillis: 3600000, exportIntervalMillis: 3600000})] });
const sh = sdk.getMeter('b').createHistogram('lat');
const ours = new RetentionMeterProvider({collectionIntervalMillis: 3600000, exportIntervalMillis: 3600000});
const oh = ours.getMeter('b').createHistogram('lat');
const a = bench('SDK record same attrs', i => sh.record(1 + (i % 100), attrs));
const b = bench('ours record same attrs', i => oh.record(1 + (i % 100), attrs));
const c = bench('SDK record new attrs', i => sh.record(1 + (i % 100), { 'http.route': '/api/items', 'http.method': 'GET', 'customer.id': 'c-1', region: 'r-1' }), 5e5);
const d = bench('ours record new attrs', i => oh.record(1 + (i % 100), { 'http.route': '/api/items', 'http.method': 'GET', 'customer.id': 'c-1', region: 'r-1' }), 5e5);
const bound = oh.bind(attrs);
const e = bench('ours bound', i => bound.record(1 + (i % 100)));
console.log('ratios same', (b/a).toFixed(3), 'new', (d/c).toFixed(3), 'bound', (e/a).toFixed(3));
process.exit(0);
