/**
 * Prometheus names from OpenTelemetry ones, as the OpenTelemetry spec says
 * (specification/compatibility/prometheus_and_openmetrics.md, "Metric
 * Metadata" and "Metric Attributes") and as the Collector's translator
 * (prometheus/otlptranslator) does, so that a metric has the same name
 * whether it is scraped from here or remote-written by a Collector.
 */

/** UCUM units and the Prometheus words for them (the spec's table). */
const UNIT_WORDS: Record<string, string> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tebibytes',
  kBy: 'kilobytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};

/** The "per" part of a rate unit, e.g. the `s` of `By/s`. */
const PER_UNIT_WORDS: Record<string, string> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

/** How a metric is exposed; it decides the type-specific name suffixes. */
export type NameKind = 'counter' | 'gauge' | 'histogram' | 'summary';

/**
 * The Prometheus word for a UCUM unit: `s` → `seconds`, `By/s` →
 * `bytes_per_second`; annotations (`{request}`) and `1` give ''.
 */
export function unitWord(unit: string): string {
  const [main, per] = unitParts(unit);
  return [main, per].filter(Boolean).join('_');
}

/**
 * The Prometheus name of a metric: every run of characters outside
 * `[a-zA-Z0-9]` becomes one `_` (so `:` too, which promtool flags), the unit
 * word is appended unless the name already holds it, counters end in
 * `_total` and dimensionless gauges in `_ratio`; a leading digit gets a `_`
 * before it. '' when nothing is left (the metric cannot be exposed).
 */
export function metricName(name: string, unit: string, kind: NameKind): string {
  let tokens = name.split(/[^a-zA-Z0-9]+/).filter(Boolean);
  if (tokens.length === 0) return '';
  const [main, per] = unitParts(unit);
  if (main && !tokens.includes(main)) tokens.push(main);
  if (per) tokens.push(per);
  if (kind === 'counter')
    tokens = [...tokens.filter(t => t !== 'total'), 'total'];
  else if (kind === 'gauge' && unit.trim() === '1')
    tokens = [...tokens.filter(t => t !== 'ratio'), 'ratio'];
  const joined = tokens.join('_');
  return /^[0-9]/.test(joined) ? `_${joined}` : joined;
}

/**
 * The Prometheus label name of an attribute key: every run of characters
 * outside `[a-zA-Z0-9_]` and every run of `_` becomes one `_` (so no name
 * starts with the reserved `__`); a name that would start with a digit, or
 * be empty or only `_`, gets `key_` before it.
 */
export function labelName(key: string): string {
  const name = key.replace(/[^a-zA-Z0-9_]+/g, '_').replace(/__+/g, '_');
  if (/^[a-zA-Z_]/.test(name) && name !== '_') return name;
  return `key_${name}`.replace(/__+/g, '_');
}

/** The main and per words of a unit, each cleaned to `[a-zA-Z0-9_]`. */
function unitParts(unit: string): [string, string] {
  const slash = unit.indexOf('/');
  const main = (slash < 0 ? unit : unit.slice(0, slash)).trim();
  const per = slash < 0 ? '' : unit.slice(slash + 1).trim();
  const word = (part: string, words: Record<string, string>) =>
    part === '' || /[{}]/.test(part) ? '' : clean(words[part] ?? part);
  const perWord = word(per, PER_UNIT_WORDS);
  return [word(main, UNIT_WORDS), perWord ? `per_${perWord}` : ''];
}

function clean(word: string): string {
  return word.replace(/[^a-zA-Z0-9]+/g, '_').replace(/^_+|_+$/g, '');
}
