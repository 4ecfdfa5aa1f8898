export {
  DEFAULT_PROMETHEUS_HOST,
  DEFAULT_PROMETHEUS_PORT,
  PrometheusScrapeServer,
} from '../PrometheusScrapeServer';
export type { PrometheusScrapeServerOptions } from '../PrometheusScrapeServer';
export { serializeMetrics } from './buildExposition';
export type { Exposition, SerializeOptions } from './buildExposition';
export { DEFAULT_CLASSIC_BOUNDARIES } from './classicBuckets';
export type { Exemplar, ExemplarCarrier } from './exemplars';
export { negotiateFormat } from './negotiate';
export type { ExpositionFormat } from './negotiate';
