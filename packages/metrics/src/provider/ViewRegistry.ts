import type { Attributes } from '@opentelemetry/api';
import { AggregationType, InstrumentType } from '@opentelemetry/sdk-metrics';
import type {
  IAttributesProcessor,
  ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { OptionReader } from '@datapunk/otel-common';

const OWNER = 'RetentionMeterProvider';

/** The View options this provider honours; any other is refused at construction. */
const KNOWN: readonly (keyof ViewOptions)[] = [
  'name',
  'description',
  'attributesProcessors',
  'aggregation',
  'aggregationCardinalityLimit',
  'instrumentType',
  'instrumentName',
  'instrumentUnit',
  'meterName',
  'meterVersion',
  'meterSchemaUrl',
];

/** How a histogram is aggregated and exported. */
export type HistogramChoice =
  | { type: 'exponential'; maxBuckets?: number }
  | { type: 'explicit'; boundaries: number[] };

/** An instrument, as views select it. */
export interface InstrumentIdentity {
  name: string;
  type: InstrumentType;
  unit: string;
  meterName: string;
  meterVersion: string;
  meterSchemaUrl: string;
}

/** What one view makes of an instrument: one stream (or none, for Drop). */
export interface StreamView {
  name: string;
  description: string | undefined;
  /** Series kept, the overflow series included; undefined for the store's limit. */
  maxSeries: number | undefined;
  /** Histograms: the aggregation a view chose; undefined for the default. */
  histogram: HistogramChoice | undefined;
  /** Applied to attributes before a series is found; undefined keeps them as they are. */
  process: ((attributes: Attributes) => Attributes) | undefined;
}

interface View {
  /** Matches an instrument. */
  selects(instrument: InstrumentIdentity): boolean;
  /** The stream it makes; undefined: the instrument is dropped. */
  stream(
    instrument: InstrumentIdentity,
    description: string
  ): StreamView | undefined;
}

/**
 * The provider's Views: the SDK's ViewOptions, of which this provider
 * honours renaming, descriptions, attribute processors (allow and deny
 * lists), Drop, a per-instrument series limit and the histogram
 * aggregation (exponential, or explicit buckets); a View with anything
 * else, or an aggregation that does not fit, is refused at construction.
 * An instrument no View selects makes one stream of its own.
 */
export class ViewRegistry {
  private readonly _views: View[];

  /** @throws {TypeError|RangeError} naming the view and option, for one it cannot honour. */
  constructor(views: unknown) {
    if (views === undefined || views === null) {
      this._views = [];
      return;
    }
    if (!Array.isArray(views))
      throw new TypeError(
        `${OWNER}: option 'views' must be an array of ViewOptions, got ${typeof views}`
      );
    this._views = views.map((view, i) => readView(view, `views[${i}]`));
  }

  /** The streams an instrument makes: one per View selecting it, or one of its own. */
  streamsOf(instrument: InstrumentIdentity, description: string): StreamView[] {
    const selected = this._views.filter(view => view.selects(instrument));
    if (selected.length === 0)
      return [
        {
          name: instrument.name,
          description,
          maxSeries: undefined,
          histogram: undefined,
          process: undefined,
        },
      ];
    return selected
      .map(view => view.stream(instrument, description))
      .filter((stream): stream is StreamView => stream !== undefined);
  }
}

function readView(value: unknown, path: string): View {
  const options = new OptionReader(OWNER, value, KNOWN, path);
  const text = (name: keyof ViewOptions) =>
    options.raw(name) == null ? undefined : options.string(name);
  const name = text('name');
  const description =
    options.raw('description') == null
      ? undefined
      : String(options.raw('description'));
  const instrumentName = text('instrumentName');
  const instrumentType = options.raw('instrumentType') as
    | InstrumentType
    | undefined;
  if (
    instrumentType !== undefined &&
    !Object.values(InstrumentType).includes(instrumentType)
  )
    options.fail(
      'instrumentType',
      `must be one of ${Object.values(InstrumentType).join(', ')}`,
      instrumentType
    );
  const instrumentUnit = text('instrumentUnit');
  const meterName = text('meterName');
  const meterVersion = text('meterVersion');
  const meterSchemaUrl = text('meterSchemaUrl');
  if (
    [
      instrumentName,
      instrumentType,
      instrumentUnit,
      meterName,
      meterVersion,
      meterSchemaUrl,
    ].every(selector => selector === undefined)
  )
    options.fail(
      'instrumentName',
      'or another selector must be given (a View selects instruments)'
    );
  if (
    name !== undefined &&
    (instrumentName === undefined || instrumentName.includes('*'))
  )
    options.fail(
      'name',
      "needs an 'instrumentName' without a wildcard (one view, one stream name)",
      name
    );
  const maxSeries =
    options.raw('aggregationCardinalityLimit') == null
      ? undefined
      : options.integer('aggregationCardinalityLimit', undefined, { min: 2 });
  const processors = readProcessors(options);
  const aggregation = readAggregation(options, instrumentType);
  const pattern =
    instrumentName === undefined ? undefined : wildcard(instrumentName);
  return {
    selects: instrument =>
      (pattern === undefined || pattern.test(instrument.name)) &&
      (instrumentType === undefined || instrument.type === instrumentType) &&
      (instrumentUnit === undefined || instrument.unit === instrumentUnit) &&
      (meterName === undefined || instrument.meterName === meterName) &&
      (meterVersion === undefined ||
        instrument.meterVersion === meterVersion) &&
      (meterSchemaUrl === undefined ||
        instrument.meterSchemaUrl === meterSchemaUrl),
    stream: (instrument, instrumentDescription) => {
      if (aggregation === 'drop') return undefined;
      return {
        name: name ?? instrument.name,
        description: description ?? instrumentDescription,
        maxSeries,
        histogram:
          instrument.type === InstrumentType.HISTOGRAM &&
          aggregation !== 'default'
            ? aggregation
            : undefined,
        process: processors,
      };
    },
  };
}

function readProcessors(
  options: OptionReader
): ((attributes: Attributes) => Attributes) | undefined {
  const given = options.raw('attributesProcessors');
  if (given == null) return undefined;
  if (
    !Array.isArray(given) ||
    given.some(p => typeof (p as IAttributesProcessor)?.process !== 'function')
  )
    options.failType(
      'attributesProcessors',
      'an array of attribute processors (createAllowListAttributesProcessor, createDenyListAttributesProcessor)',
      given
    );
  const processors = given as IAttributesProcessor[];
  return attributes =>
    processors.reduce((kept, processor) => processor.process(kept), attributes);
}

/** 'drop', 'default' or a histogram choice. */
function readAggregation(
  options: OptionReader,
  instrumentType: InstrumentType | undefined
): 'drop' | 'default' | HistogramChoice {
  const given = options.raw('aggregation');
  if (given == null) return 'default';
  const aggregation = new OptionReader(
    OWNER,
    given,
    ['type', 'options'],
    options.pathOf('aggregation')
  );
  const type = aggregation.raw('type');
  switch (type) {
    case AggregationType.DROP:
      return 'drop';
    case AggregationType.DEFAULT:
      return 'default';
    case AggregationType.EXPONENTIAL_HISTOGRAM:
    case AggregationType.EXPLICIT_BUCKET_HISTOGRAM: {
      if (
        instrumentType !== undefined &&
        instrumentType !== InstrumentType.HISTOGRAM
      )
        aggregation.fail(
          'type',
          `is a histogram aggregation; the view selects ${instrumentType}`
        );
      const settings = aggregation.nested(
        'options',
        type === AggregationType.EXPONENTIAL_HISTOGRAM
          ? ['maxSize', 'recordMinMax']
          : ['boundaries', 'recordMinMax']
      );
      if (settings.raw('recordMinMax') === false)
        settings.fail(
          'recordMinMax',
          'can only be true: min and max are always kept',
          false
        );
      if (type === AggregationType.EXPONENTIAL_HISTOGRAM)
        return {
          type: 'exponential',
          maxBuckets:
            settings.raw('maxSize') == null
              ? undefined
              : settings.integer('maxSize', undefined, { min: 2, max: 16384 }),
        };
      return {
        type: 'explicit',
        boundaries: settings.numberList('boundaries', undefined as never, {
          maxLength: 256,
          above: -Infinity,
          below: Infinity,
        }),
      };
    }
    default:
      return aggregation.fail(
        'type',
        'must be DROP, DEFAULT, EXPONENTIAL_HISTOGRAM or EXPLICIT_BUCKET_HISTOGRAM (this provider keeps sums, gauges and histograms in their own aggregations)',
        AggregationType[type as AggregationType] ?? type
      );
  }
}

/** An instrument name pattern: `*` matches any run of characters. */
function wildcard(pattern: string): RegExp {
  const escaped = pattern
    .split('*')
    .map(part => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${escaped}$`);
}
