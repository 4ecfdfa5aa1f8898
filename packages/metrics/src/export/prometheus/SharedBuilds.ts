import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { SlicedTask } from '@datapunk/otel-common';
import { ExpositionBuilder } from './buildExposition';
import type { FamilyOptions, WriteContext } from './families';
import { LabelNamer } from './labels';
import type { ExpositionFormat } from './negotiate';

/** Collects, handing the collection over in batches, each dropped once consumed. */
export type ScrapeCollection = (
  consume: (batch: ResourceMetrics) => Promise<void>
) => Promise<void>;

/**
 * Scrape bodies, one build per format at a time: a scrape that arrives
 * while a build of its format is under way gets that build's body rather
 * than starting its own (ten scrapers at once cost one collect and one
 * serialization). A scrape after it ends gets a fresh build.
 */
export class SharedBuilds {
  private readonly _collect: ScrapeCollection;
  private readonly _options: FamilyOptions & WriteContext;
  private readonly _underWay = new Map<ExpositionFormat, Promise<Buffer[]>>();

  constructor(collect: ScrapeCollection, options: FamilyOptions) {
    this._collect = collect;
    // One namer for every build: label names are made once.
    this._options = { ...options, namer: new LabelNamer() };
  }

  /** The body in `format`, as chunks; rejects if collecting or building fails. */
  body(format: ExpositionFormat): Promise<Buffer[]> {
    let build = this._underWay.get(format);
    if (build === undefined) {
      build = this._build(format);
      this._underWay.set(format, build);
      const done = build;
      const forget = () => {
        if (this._underWay.get(format) === done) this._underWay.delete(format);
      };
      done.then(forget, forget);
    }
    return build;
  }

  private async _build(format: ExpositionFormat): Promise<Buffer[]> {
    const builder = new ExpositionBuilder(format, this._options);
    await this._collect(batch => new SlicedTask(builder.add(batch)).run());
    return builder.finish();
  }
}
