export {
  AttributeReader,
  decodeAttributeKey,
  isAttributeValue,
} from './attributes/AttributeReader';
export type { AttributeReading } from './attributes/AttributeReader';
export {
  DEFAULT_ATTRIBUTE_BOUNDS,
  MAX_ATTRIBUTE_KEY_LENGTH,
} from './attributes/bounds';
export type { AttributeBounds } from './attributes/bounds';
export { PlainAttributes, hashKey } from './attributes/PlainAttributes';
export {
  StoredKey,
  forEachStoredName,
  storedAttributes,
  storedKeyEquals,
} from './attributes/StoredKey';
export {
  keyByteLength,
  matchKeyText,
  readKeyBytes,
  writeKeyBytes,
} from './attributes/keyBytes';
export { EventEmitter } from './EventEmitter';
export type { Event, IDisposable } from './EventEmitter';
export {
  OptionReader,
  checkArray,
  checkNumber,
  checkRecord,
  checkString,
  describeValue,
  isPlainObject,
} from './validation';
export { quantileKey } from './quantileKey';
export { RateLimitedDiag } from './RateLimitedDiag';
export {
  DEFAULT_SLICE_MILLIS,
  SlicedTask,
  slicedTasksRunning,
  yieldToEventLoop,
} from './SlicedTask';
export type { RangeRule } from './validation';
