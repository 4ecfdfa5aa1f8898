// Retained bytes per histogram series after 70 simulated minutes at the default tiers.
const { RetentionMeterProvider } = require('@datapunk/otel-metrics');
let now = Date.UTC(2026, 10, 23);
const realNow = Date.now;
Date.now = () => now;
const N = Number(process.argv[2] || 1000);
(async () => {
  const attrs = Array.from({ length: N }, (_, i) => ({ route: `/r${i % 97}`, method: i % 2 ? 'GET' : 'POST', customer: `c-${i}`, region: `r${i % 5}` }));
  global.gc(); global.gc();
  const m0 = process.memoryUsage();
  const p = new RetentionMeterProvider({ collectionIntervalMillis: 3_600_000_0, exportIntervalMillis: 3_600_000_0, seriesTtlMillis: 3_600_000_00, limits: { maxSeriesPerMetric: N + 10 } });
  const h = p.getMeter('m').createHistogram('lat', { unit: 'ms' });
  let seed = 7;
  const rand = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  for (let step = 0; step < 420; step++) {   // 70 min of 10 s collections
    for (let i = 0; i < N; i++) for (let k = 0; k < 20; k++) h.record(Math.exp(3 + rand() * 2.5), attrs[i]);
    now += 10_000;
    void (await p.collect()).errors;
  }
  await new Promise(resolve => setTimeout(resolve, 10));
  global.gc(); global.gc();
  const m1 = process.memoryUsage();
  if (process.env.SNAP) require('v8').writeHeapSnapshot('/tmp/retain.heapsnapshot');
  const bytes = (m1.heapUsed + m1.arrayBuffers) - (m0.heapUsed + m0.arrayBuffers);
  console.log(JSON.stringify({ N, perSeriesKB: (bytes / N / 1024).toFixed(2), heapMB: ((m1.heapUsed-m0.heapUsed)/1e6).toFixed(1), abMB: ((m1.arrayBuffers-m0.arrayBuffers)/1e6).toFixed(1) }));
  process.exit(0);
})();
