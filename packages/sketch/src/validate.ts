/**
 * Argument checks that throw errors naming the owner, the field and the rule:
 * TypeError for a wrong type, RangeError for a value outside its rule.
 */

export function requireRecord(
  owner: string,
  name: string,
  value: unknown
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `${owner}: '${name}' must be an object, got ${describe(value)}`
    );
  }
  return value as Record<string, unknown>;
}

/** A JSON object of the given format version. */
export function requireVersioned(
  owner: string,
  json: unknown,
  version: number
): Record<string, unknown> {
  const record = requireRecord(owner, 'json', json);
  if (record.version !== version) {
    throw new RangeError(
      `${owner}: 'version' must be ${version}, got ${describe(record.version)}`
    );
  }
  return record;
}

/** Throws on keys outside `known`, which are most often typos. */
export function rejectUnknownKeys(
  owner: string,
  record: Record<string, unknown>,
  known: readonly string[]
): void {
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `${owner}: unknown option '${key}' (known: ${known.join(', ')})`
      );
    }
  }
}

export function requireFiniteNumber(
  owner: string,
  name: string,
  value: unknown
): number {
  requireNumber(owner, name, value);
  if (!Number.isFinite(value)) {
    throw new RangeError(`${owner}: '${name}' must be finite, got ${value}`);
  }
  return value;
}

export function requireInteger(
  owner: string,
  name: string,
  value: unknown,
  min: number,
  max: number
): number {
  requireNumber(owner, name, value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `${owner}: '${name}' must be an integer from ${min} to ${max}, got ${value}`
    );
  }
  return value;
}

function requireNumber(
  owner: string,
  name: string,
  value: unknown
): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(
      `${owner}: '${name}' must be a number, got ${describe(value)}`
    );
  }
}

/**
 * Whether record(value, count) may be taken: a finite number, and a positive
 * safe-integer count that keeps `total` exact. Small enough to inline.
 */
export function isRecordable(
  value: number,
  count: number,
  total: number
): boolean {
  return (
    typeof value === 'number' &&
    value - value === 0 &&
    (count === 1 ||
      (Number.isSafeInteger(count) &&
        count > 0 &&
        total + count <= Number.MAX_SAFE_INTEGER))
  );
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return typeof value === 'object'
    ? 'an object'
    : `${typeof value} ${String(value)}`;
}
