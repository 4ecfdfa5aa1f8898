import { checkRecord, fail } from '@datapunk/otel-common/validation';

/** A JSON object of the given format version. */
export function requireVersioned(
  owner: string,
  json: unknown,
  version: number
): Record<string, unknown> {
  const record = checkRecord(owner, "'json'", json);
  if (record.version !== version)
    fail(owner, "'version'", `must be ${version}`, record.version);
  return record;
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
