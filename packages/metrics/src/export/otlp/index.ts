export { OTLPSummaryMetricExporter } from './OTLPSummaryMetricExporter';
export type {
  OTLPHttpProtocol,
  OTLPSummaryMetricExporterOptions,
} from './OTLPSummaryMetricExporter';
