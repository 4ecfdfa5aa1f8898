export { OptionReader, describeValue } from './OptionReader';
export { RateLimitedDiag } from './RateLimitedDiag';
export type { RangeRule } from './types';
