export { EventEmitter } from './EventEmitter';
export type { Event, IDisposable } from './EventEmitter';
export { OptionReader, describeValue } from './OptionReader';
export { RateLimitedDiag } from './RateLimitedDiag';
export type { RangeRule } from './types';
