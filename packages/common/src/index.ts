export {
  AttributeReader,
  DEFAULT_ATTRIBUTE_BOUNDS,
  MAX_ATTRIBUTE_KEY_LENGTH,
  decodeAttributeKey,
  isAttributeValue,
} from './attributes/AttributeReader';
export type {
  AttributeBounds,
  AttributeReading,
} from './attributes/AttributeReader';
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
  yieldToEventLoop,
} from './SlicedTask';
export type { RangeRule } from './validation';
