/**
 * A parser of the Prometheus text format 0.0.4 as its documentation
 * defines it, written for the tests, independently of the package.
 */
import { expect } from 'chai';

export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const NUMBER = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export interface Sample {
  name: string;
  labels: Map<string, string>;
  value: string;
}

export interface ParsedText {
  samples: Sample[];
  /** Family name → TYPE. */
  types: Map<string, string>;
  /** Family name → its number of samples. */
  sampleCounts: Map<string, number>;
}

/**
 * A parser of the text format 0.0.4 as the Prometheus docs define it,
 * strict where Prometheus is: it throws at the first line that is not
 * valid. Gives the samples with their label values unescaped.
 */
export function parseText(text: string): ParsedText {
  // An empty body is a scrape without metrics; anything else ends in a line feed.
  expect(text === '' || text.endsWith('\n'), 'ends with a line feed').to.equal(
    true
  );
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const series = new Set<string>();
  const samples: Sample[] = [];
  const sampleCounts = new Map<string, number>();
  let current: string | undefined;
  for (const line of text ? text.slice(0, -1).split('\n') : []) {
    const help = line.match(/^# HELP (\S+) (.*)$/);
    const type = line.match(/^# TYPE (\S+) (\S+)$/);
    if (help) {
      expect(help[1]).to.match(METRIC_NAME);
      expect(helped.has(help[1]), `second HELP of ${help[1]}`).to.equal(false);
      helped.add(help[1]);
      // Only \\ and \n escapes.
      expect(help[2].replace(/\\[\\n]/g, '')).to.not.include('\\');
      continue;
    }
    if (type) {
      expect(type[1]).to.match(METRIC_NAME);
      expect(TYPES.has(type[2]), type[2]).to.equal(true);
      expect(types.has(type[1]), `second TYPE of ${type[1]}`).to.equal(false);
      types.set(type[1], type[2]);
      sampleCounts.set(type[1], 0);
      current = type[1];
      continue;
    }
    // Any other comment is allowed and ignored (the SDK's serializer writes `# UNIT`).
    if (line.startsWith('#')) continue;
    const sample = parseSample(line);
    // Each sample belongs to the family declared just before it.
    const suffixes =
      types.get(current!) === 'histogram'
        ? ['_bucket', '_count', '_sum']
        : types.get(current!) === 'summary'
          ? ['', '_count', '_sum']
          : [''];
    expect(
      [current, ...suffixes.map(s => current + s)].includes(sample.name),
      `${sample.name} under TYPE ${current}`
    ).to.equal(true);
    const key = `${sample.name}${JSON.stringify([...sample.labels].sort())}`;
    expect(series.has(key), `repeated series ${line}`).to.equal(false);
    series.add(key);
    samples.push(sample);
    sampleCounts.set(current!, sampleCounts.get(current!)! + 1);
  }
  return { samples, types, sampleCounts };
}

function parseSample(line: string): Sample {
  const name = line.match(/^[a-zA-Z_:][a-zA-Z0-9_:]*/)?.[0];
  expect(name, line).to.be.a('string');
  const labels = new Map<string, string>();
  let i = name!.length;
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const labelName = line.slice(i).match(/^[a-zA-Z_][a-zA-Z0-9_]*/)?.[0];
      expect(labelName, `label name at ${i} of ${line}`).to.be.a('string');
      expect(labelName!.startsWith('__'), labelName).to.equal(false);
      i += labelName!.length;
      expect(line.slice(i, i + 2), line).to.equal('="');
      i += 2;
      let value = '';
      for (;;) {
        const c = line[i++];
        expect(c, `unterminated value in ${line}`).to.not.equal(undefined);
        if (c === '"') break;
        if (c === '\\') {
          const escaped = line[i++];
          expect(['\\', '"', 'n'], `escape \\${escaped}`).to.include(escaped);
          value += escaped === 'n' ? '\n' : escaped;
        } else value += c;
      }
      expect(labels.has(labelName!), `repeated label ${labelName}`).to.equal(
        false
      );
      labels.set(labelName!, value);
      if (line[i] === ',') i++;
      else expect(line[i], line).to.equal('}');
    }
    i++;
  }
  expect(line[i], line).to.equal(' ');
  const value = line.slice(i + 1);
  expect(value, line).to.match(NUMBER);
  return { name: name!, labels, value };
}
