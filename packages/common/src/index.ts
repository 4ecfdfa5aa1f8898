export { EventEmitter } from './EventEmitter';
export type { Event, IDisposable } from './EventEmitter';
export { OptionReader, describeValue } from './OptionReader';
export { RateLimitedDiag } from './RateLimitedDiag';
export {
  DEFAULT_SLICE_MILLIS,
  SlicedTask,
  yieldToEventLoop,
} from './SlicedTask';
export type { RangeRule } from './types';
