/**
 * The bytes a store holds, by part: typed arrays and arena chunks counted
 * whole (their capacity, not what is written in them), which is what
 * `arrayBuffers` grows by. `datapunk.metrics.retained.bytes` reports them.
 */
export interface HeldBytes {
  /** Attribute keys, and the table that finds them. */
  keys: number;
  /** Per-series columns, ids not yet handed out included. */
  columns: number;
  /** Measurements since the latest collection (histograms' current deltas). */
  current: number;
  /** Exported values, data in flight and summary windows. */
  live: number;
  /** History points of the retention tiers. */
  history: number;
  /** Arena chunks' space in no block. */
  free: number;
  /** Exemplar reservoirs: their slots and per-series indexes. */
  exemplars: number;
}

export function noHeldBytes(): HeldBytes {
  return {
    keys: 0,
    columns: 0,
    current: 0,
    live: 0,
    history: 0,
    free: 0,
    exemplars: 0,
  };
}

/** Bytes of typed-array columns, whole. */
export function columnBytes(
  ...columns: readonly { byteLength: number }[]
): number {
  let bytes = 0;
  for (const column of columns) bytes += column.byteLength;
  return bytes;
}
