export { Base2Mapping, MAX_SCALE, MIN_SCALE, getMapping } from './Base2Mapping';
export { ExponentialSketch } from './ExponentialSketch';
export { RunningStats } from './RunningStats';
export { SlidingWindow } from './SlidingWindow';
export type {
  BucketBlock,
  BucketRange,
  BucketSpan,
  ExponentialHistogramPoint,
  ExponentialSketchJSON,
  ExponentialSketchOptions,
  Mergeable,
  RunningStatsJSON,
  SlidingWindowOptions,
} from './types';
