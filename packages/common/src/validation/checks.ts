import type { RangeRule } from './RangeRule';

/**
 * Checks of values read from options or from data (a snapshot, a JSON
 * sketch), throwing errors that name the owner, the field and the rule:
 * `TypeError` for a wrong type, `RangeError` for a value outside its rule.
 * `field` is the field as a message names it: `option 'limits.maxMetrics'`,
 * or `'metrics[0].kind'`. Nothing here needs OpenTelemetry: packages with
 * no OpenTelemetry dependency import it as `@datapunk/otel-common/validation`.
 */

/** An object that is not null and not an array. */
export function isPlainObject(
  value: unknown
): value is Record<string, unknown> {
  try {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    // Array.isArray throws on a revoked Proxy.
    return false;
  }
}

export function checkRecord(
  owner: string,
  field: string,
  value: unknown
): Record<string, unknown> {
  if (!isPlainObject(value)) failType(owner, field, 'an object', value);
  return value;
}

/** A number within `rule` (finite unless `rule.infinite`; an integer if `rule.integer`). */
export function checkNumber(
  owner: string,
  field: string,
  value: unknown,
  rule: RangeRule = {}
): number {
  if (typeof value !== 'number') failType(owner, field, 'a number', value);
  if (
    Number.isNaN(value) ||
    (!Number.isFinite(value) && !(rule.infinite && value === Infinity)) ||
    !satisfies(value, rule) ||
    (rule.integer && !Number.isInteger(value))
  ) {
    fail(owner, field, `must be ${describeRule(rule)}`, value);
  }
  return value;
}

/** An array of at most `maxLength` entries. */
export function checkArray(
  owner: string,
  field: string,
  value: unknown,
  maxLength = Infinity
): unknown[] {
  if (!Array.isArray(value) || value.length > maxLength) {
    failType(
      owner,
      field,
      maxLength < Infinity ? `an array of at most ${maxLength}` : 'an array',
      value
    );
  }
  return value;
}

export function checkString(
  owner: string,
  field: string,
  value: unknown,
  emptyAllowed = false
): string {
  if (typeof value !== 'string' || (!emptyAllowed && value.length === 0)) {
    failType(
      owner,
      field,
      emptyAllowed ? 'a string' : 'a non-empty string',
      value
    );
  }
  return value;
}

/** Throws on keys outside `known`, which are most often typos. */
export function rejectUnknownKeys(
  owner: string,
  record: Record<string, unknown>,
  known: readonly string[],
  fieldOf: (key: string) => string
): void {
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `${owner}: unknown ${fieldOf(key)} (known: ${known.join(', ')})`
      );
    }
  }
}

/** Throws a RangeError: `field` (got `value`) breaks `rule`. */
export function fail(
  owner: string,
  field: string,
  rule: string,
  ...value: [unknown?]
): never {
  const got = value.length > 0 ? `, got ${describeValue(value[0])}` : '';
  throw new RangeError(`${owner}: ${field} ${rule}${got}`);
}

/** Throws a TypeError: `field` must be `expected`. */
export function failType(
  owner: string,
  field: string,
  expected: string,
  value: unknown
): never {
  throw new TypeError(
    `${owner}: ${field} must be ${expected}, got ${describeValue(value)}`
  );
}

export function satisfies(value: number, rule: RangeRule): boolean {
  return (
    (rule.min === undefined || value >= rule.min) &&
    (rule.max === undefined || value <= rule.max) &&
    (rule.above === undefined || value > rule.above) &&
    (rule.below === undefined || value < rule.below)
  );
}

/** E.g. 'an integer ≥ 2 and ≤ 16384'. */
export function describeRule(rule: RangeRule): string {
  const kind = rule.integer
    ? 'an integer'
    : rule.infinite
      ? 'a number (Infinity allowed)'
      : 'a finite number';
  const bounds = [
    rule.min !== undefined ? `≥ ${rule.min}` : '',
    rule.above !== undefined ? `> ${rule.above}` : '',
    rule.max !== undefined ? `≤ ${rule.max}` : '',
    rule.below !== undefined ? `< ${rule.below}` : '',
  ].filter(Boolean);
  return bounds.length > 0 ? `${kind} ${bounds.join(' and ')}` : kind;
}

/**
 * A short, safe description of any value for an error message; never
 * throws, whatever the value (a Proxy, a throwing getter).
 */
export function describeValue(value: unknown): string {
  try {
    return describe(value);
  } catch {
    return 'an unreadable value';
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'object':
      return 'an object';
    case 'function':
      return 'a function';
    case 'bigint':
      return `the bigint ${value}`;
    case 'symbol':
      return 'a symbol';
    default:
      return String(value);
  }
}
