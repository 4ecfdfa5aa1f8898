/**
 * A sample value as the text formats write it: JavaScript's shortest
 * round-trip form, which Prometheus parses exactly, with its spellings of
 * the infinities; NaN for what is not a number.
 */
export function sampleValue(value: number): string {
  if (typeof value !== 'number') return 'NaN'; // a malformed point must not break the line
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/**
 * An `le` or `quantile` label value in the canonical form of OpenMetrics,
 * which Prometheus' protobuf parser also gives them: Go's `%g` (shortest
 * digits, exponent below 1e-4 and from 1e6 on, at least two exponent
 * digits), with `.0` added when that has neither `.` nor `e`. The text
 * parser keeps what it reads, so writing any other form (`le="1"`) in text
 * would make different series than the same bucket scraped as protobuf.
 */
export function canonicalNumber(value: number): string {
  let text = remembered.get(value);
  if (text === undefined) {
    text = formatCanonical(value);
    // The same few boundaries and quantiles come back in every scrape.
    if (remembered.size >= MAX_REMEMBERED) remembered.clear();
    remembered.set(value, text);
  }
  return text;
}

const MAX_REMEMBERED = 1024;
const remembered = new Map<number, string>();

function formatCanonical(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (value === 0) return '0.0';
  // toExponential() gives the shortest round-trip digits, as %g does.
  const [mantissa, exponentText] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    const digits = String(Math.abs(exponent)).padStart(2, '0');
    return `${mantissa}e${exponent < 0 ? '-' : '+'}${digits}`;
  }
  // In this range String() writes the same digits without an exponent.
  const fixed = String(value);
  return fixed.includes('.') ? fixed : `${fixed}.0`;
}
