import { expect } from 'chai';
import * as fc from 'fast-check';
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { diag } from '@opentelemetry/api';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import type { SummaryMetricData } from '../src';
import { serializeMetrics } from '../src/export/prometheus';
import { decodeFamilies } from './prometheusDecoder';
import { LABEL_NAME, METRIC_NAME, parseText } from './prometheusTextParser';
import {
  counter,
  exponentialHistogram,
  gauge,
  histogram,
  resourceMetrics,
  scaleZeroHistogram,
  summary,
} from './prometheusFixtures';

/** A label name as the spec's rules give it, computed here for the check. */
function expectedLabelName(key: string): string {
  let name = key.replace(/[^a-zA-Z0-9_]/g, '_').replace(/_+/g, '_');
  if (!/^[a-zA-Z_]/.test(name) || name === '_')
    name = `key_${name}`.replace(/_+/g, '_');
  return name === 'le' || name === 'quantile' ? `exported_${name}` : name;
}

function valueText(value: AttributeValue): string {
  return Array.isArray(value) ? JSON.stringify(value) : String(value);
}

const key = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom(
    '',
    '0',
    'a.b',
    'a_b',
    'le',
    'quantile',
    '__name__',
    'otel_scope_name',
    'otel.scope.name',
    'job',
    '_'
  )
);
const value: fc.Arbitrary<AttributeValue> = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.constantFrom('"', '\\', '\n', '\\n', '\r', '\u0000', '\ud800'),
  fc.double(),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 3 })
);
const attributes = fc.dictionary(key, value, { maxKeys: 8 });
const kind = fc.constantFrom(
  'counter',
  'gauge',
  'histogram',
  'exponential',
  'summary'
);

function metricOf(
  metricKind: string,
  name: string,
  attrs: Attributes
): MetricData | SummaryMetricData {
  const spec = [{ attributes: attrs, value: 1 }];
  switch (metricKind) {
    case 'counter':
      return counter(name, spec);
    case 'gauge':
      return gauge(name, spec);
    case 'histogram':
      return histogram(name, [
        {
          attributes: attrs,
          value: {
            buckets: { boundaries: [1], counts: [1, 0] },
            count: 1,
            sum: 1,
          },
        },
      ]);
    case 'exponential':
      return exponentialHistogram(name, [
        { attributes: attrs, value: scaleZeroHistogram([1.5]) },
      ]);
    default:
      return summary(name, [
        {
          attributes: attrs,
          value: {
            count: 1,
            sum: 1,
            quantileValues: [{ quantile: 0.5, value: 1 }],
          },
        },
      ]);
  }
}

describe('Prometheus exposition of hostile names and attributes (fast-check)', function () {
  this.timeout(60_000);
  before(() => diag.disable());

  it('writes text that parses, every sample valid, whatever the keys, values and names', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(kind, fc.string(), attributes), {
          minLength: 1,
          maxLength: 6,
        }),
        attributes,
        async (metrics, resource) => {
          const input = resourceMetrics(
            metrics.map(([k, name, attrs]) => metricOf(k, name, attrs)),
            { resource }
          );
          const { chunks } = await serializeMetrics(input);
          parseText(Buffer.concat(chunks).toString('utf8'));
        }
      ),
      { numRuns: 100 }
    );
  });

  it('exposes a single metric with any attributes, every value under its sanitized key (joined with ; on a clash)', async () => {
    await fc.assert(
      fc.asyncProperty(kind, attributes, async (metricKind, attrs) => {
        const { chunks } = await serializeMetrics(
          resourceMetrics([metricOf(metricKind, 'm', attrs)], {
            resource: {},
            scope: { name: 'scope' },
          })
        );
        const { samples } = parseText(Buffer.concat(chunks).toString('utf8'));
        expect(samples.length).to.be.above(0);
        for (const sample of samples) {
          for (const [k, v] of Object.entries(attrs)) {
            const label = sample.labels.get(expectedLabelName(k));
            expect(label, `label of ${JSON.stringify(k)}`).to.be.a('string');
            // Lone surrogates become U+FFFD in UTF-8.
            expect(label).to.include(
              Buffer.from(valueText(v), 'utf8').toString('utf8')
            );
          }
          expect(sample.labels.get('otel_scope_name')).to.include('scope');
        }
      }),
      { numRuns: 100 }
    );
  });

  it('writes protobuf that decodes, with valid and unique label names, whatever the keys', async () => {
    await fc.assert(
      fc.asyncProperty(kind, attributes, async (metricKind, attrs) => {
        const { chunks } = await serializeMetrics(
          resourceMetrics([metricOf(metricKind, 'm', attrs)]),
          { format: 'protobuf' }
        );
        for (const family of decodeFamilies(Buffer.concat(chunks))) {
          expect(family.name).to.match(METRIC_NAME);
          for (const metric of family.metric ?? []) {
            const names = (metric.label ?? []).map(l => l.name);
            for (const name of names) expect(name).to.match(LABEL_NAME);
            expect(new Set(names).size).to.equal(names.length);
          }
        }
      }),
      { numRuns: 100 }
    );
  });
});

describe('Prometheus exposition of malformed points', () => {
  before(() => diag.disable());

  it('writes valid text and protobuf for values that are not what the types say', async () => {
    const odd = (value: unknown) => value as never;
    const input = resourceMetrics([
      counter('c', [
        { value: odd('seven') },
        { attributes: { k: 1 }, value: NaN },
      ]),
      histogram('h', [
        {
          value: odd({
            buckets: { boundaries: [1, NaN, 1, Infinity], counts: ['1', 2] },
            count: undefined,
            sum: -Infinity,
          }),
        },
      ]),
      exponentialHistogram('e', [
        {
          attributes: { k: 'inf' },
          value: { ...scaleZeroHistogram([2]), scale: Infinity },
        },
        {
          attributes: { k: 'half' },
          value: { ...scaleZeroHistogram([2]), scale: 0.5 },
        },
        {
          attributes: { k: 'neg' },
          value: { ...scaleZeroHistogram([2]), count: -3, zeroCount: -1 },
        },
      ]),
      summary('s', [
        {
          value: {
            count: -1,
            sum: NaN,
            quantileValues: [{ quantile: NaN, value: 1 }],
          },
        },
      ]),
    ]);
    const text = await serializeMetrics(input);
    parseText(Buffer.concat(text.chunks).toString('utf8'));
    const openMetrics = await serializeMetrics(input, {
      format: 'openmetrics',
    });
    expect(Buffer.concat(openMetrics.chunks).toString('utf8')).to.match(
      /# EOF\n$/
    );
    const protobuf = await serializeMetrics(input, { format: 'protobuf' });
    const families = decodeFamilies(Buffer.concat(protobuf.chunks));
    expect(families.map(f => f.name)).to.include.members([
      'c_total',
      'h',
      'e',
      's',
    ]);
  });
});
