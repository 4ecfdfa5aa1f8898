/**
 * Records simulated request latencies into per-worker sketches, merges them,
 * and prints percentiles next to the exact values.
 *
 *   npm start        (or: npx ts-node -P examples/tsconfig.json examples/sketch-percentiles.ts)
 */
import { ExponentialSketch, RunningStats } from '@datapunk/otel-sketch';

const WORKERS = 4;
const REQUESTS_PER_WORKER = 250_000;

let seed = 42;
function random(): number {
  seed = (seed * 48271) % 2147483647;
  return seed / 2147483647;
}

/** 90% fast requests around 8 ms, 10% slow ones around 400 ms. */
function latencyMillis(): number {
  const gaussian =
    Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random());
  return random() < 0.9
    ? 8 * Math.exp(0.3 * gaussian)
    : 400 * Math.exp(0.5 * gaussian);
}

const workers = Array.from({ length: WORKERS }, () => new ExponentialSketch());
const stats = new RunningStats();
const all: number[] = [];
for (const sketch of workers) {
  for (let i = 0; i < REQUESTS_PER_WORKER; i++) {
    const ms = latencyMillis();
    sketch.record(ms);
    stats.record(ms);
    all.push(ms);
  }
}

const merged = workers[0].clone();
for (const sketch of workers.slice(1)) merged.merge(sketch);
all.sort((a, b) => a - b);

const pad = (text: string, width: number) => text.padStart(width);
console.log(`${merged.count} latencies from ${WORKERS} merged sketches`);
console.log(
  `scale ${merged.scale}: every quantile within ±${(merged.relativeError * 100).toFixed(3)}%\n`
);
console.log(
  `${pad('quantile', 8)} ${pad('sketch ms', 12)} ${pad('exact ms', 12)} ${pad('error', 8)}`
);
for (const q of [0.5, 0.9, 0.95, 0.99, 0.999]) {
  const exact = all[Math.floor(q * (all.length - 1))];
  const estimate = merged.quantile(q);
  const error = ((estimate - exact) / exact) * 100;
  console.log(
    `${pad(`p${q * 100}`, 8)} ${pad(estimate.toFixed(3), 12)} ${pad(exact.toFixed(3), 12)} ${pad(error.toFixed(3) + '%', 8)}`
  );
}
console.log(
  `\nmin ${merged.min.toFixed(3)} ms, max ${merged.max.toFixed(3)} ms, mean ${merged.mean.toFixed(3)} ms, stddev ${stats.stddev.toFixed(3)} ms`
);
console.log(
  `serialized sketch: ${JSON.stringify(merged).length} bytes of JSON`
);
