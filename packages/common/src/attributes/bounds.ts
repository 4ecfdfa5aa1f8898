/**
 * Longest attribute key kept. Keys come from instrumentation code, so this
 * only guards against hostile or broken input; it is not configurable.
 */
export const MAX_ATTRIBUTE_KEY_LENGTH = 256;

/** Bounds on one attribute set, applied before anything of it is kept. */
export interface AttributeBounds {
  /** Attributes kept per set: the first N valid keys in sorted order. */
  maxAttributesPerSeries: number;
  /** Longest string value (or array element) kept, in UTF-16 units; longer ones are cut. */
  maxAttributeValueLength: number;
  /** Estimated bytes of one set (keys and values); attributes past it are dropped. */
  maxAttributeBytesPerSeries: number;
}

export const DEFAULT_ATTRIBUTE_BOUNDS: Readonly<AttributeBounds> =
  Object.freeze({
    maxAttributesPerSeries: 32,
    maxAttributeValueLength: 1024,
    maxAttributeBytesPerSeries: 16 * 1024,
  });
