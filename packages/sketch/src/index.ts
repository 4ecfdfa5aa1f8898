export { ExponentialSketch } from './ExponentialSketch';
export { RunningStats } from './RunningStats';
export { SlidingWindow } from './SlidingWindow';
export type {
  BucketSpan,
  ExponentialHistogramPoint,
  ExponentialSketchJSON,
  ExponentialSketchOptions,
  Mergeable,
  RunningStatsJSON,
  SlidingWindowOptions,
} from './types';
