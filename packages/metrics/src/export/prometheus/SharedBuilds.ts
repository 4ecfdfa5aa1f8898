import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { SlicedTask } from '@datapunk/otel-common';
import { buildExposition } from './buildExposition';
import type { FamilyOptions, WriteContext } from './families';
import { LabelNamer } from './labels';
import type { ExpositionFormat } from './negotiate';

/**
 * Scrape bodies, one build per format at a time: a scrape that arrives
 * while a build of its format is under way gets that build's body rather
 * than starting its own (ten scrapers at once cost one collect and one
 * serialization). A scrape after it ends gets a fresh build, with the
 * labels of series it has seen before taken from its namer.
 */
export class SharedBuilds {
  private readonly _collect: () => Promise<ResourceMetrics>;
  private readonly _options: FamilyOptions & WriteContext;
  private readonly _underWay = new Map<ExpositionFormat, Promise<Buffer[]>>();

  constructor(collect: () => Promise<ResourceMetrics>, options: FamilyOptions) {
    this._collect = collect;
    // One namer for every build: each series' labels are made once.
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
    const resourceMetrics = await this._collect();
    return new SlicedTask(
      buildExposition(resourceMetrics, format, this._options)
    ).run();
  }
}
