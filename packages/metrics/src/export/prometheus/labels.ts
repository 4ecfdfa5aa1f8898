import type { Attributes } from '@opentelemetry/api';
import { labelName } from './names';

/** A label as Prometheus takes it: a valid name and any (UTF-8) value. */
export type LabelPair = readonly [name: string, value: string];

/**
 * Label names the exposition writes itself on histograms and summaries.
 * An attribute of such a name is exposed as `exported_<name>`, on every
 * type (promtool flags `le` and `quantile` labels anywhere else too), the
 * way Prometheus renames scraped labels that clash with target labels.
 */
const GENERATED_LABELS = new Set(['le', 'quantile']);

/** Label names kept before the cache starts over (keys are few, but a host may make many). */
const MAX_CACHED_NAMES = 10_000;

/** A point's labels, and as the text formats write them. */
export interface PointLabels {
  /** Sorted by name, names unique. */
  readonly labels: readonly LabelPair[];
  /** `a="x",b="y"`, values escaped. */
  readonly text: string;
}

/**
 * Turns attributes into a point's labels: names sanitized (see
 * {@link labelName}), generated names moved aside, and keys that end up
 * with the same name joined as the spec says: values separated by `;` in
 * the order of the original keys. Whatever the keys, the result has valid
 * and unique names. It remembers label names, and the labels of each
 * attributes object until {@link forgetPoints} (a batch's points share
 * them).
 */
export class LabelNamer {
  private readonly _names = new Map<string, string>();
  /** Points of a scrape's current batch share attributes objects (a histogram and its window summary). */
  private readonly _points = new Map<
    Attributes,
    { scope: string; labels: PointLabels }
  >();

  /** Forgets the labels of attributes objects seen so far (a batch's, not seen again). */
  forgetPoints(): void {
    this._points.clear();
  }

  /** The label name of attribute `key`. */
  name(key: string): string {
    let name = this._names.get(key);
    if (name === undefined) {
      name = labelName(key);
      if (GENERATED_LABELS.has(name)) name = `exported_${name}`;
      if (this._names.size >= MAX_CACHED_NAMES) this._names.clear();
      this._names.set(key, name);
    }
    return name;
  }

  /**
   * The labels of a point: its `attributes` with the `scope` labels added
   * (keyed `otel.scope.*`), remembered for the same attributes object and
   * scope key.
   * @throws whatever reading `attributes` throws (a hostile Proxy, say).
   */
  pointLabels(
    attributes: Attributes,
    scope: readonly (readonly [key: string, value: string])[],
    scopeKey: string
  ): PointLabels {
    const known = this._points.get(attributes);
    if (known !== undefined && known.scope === scopeKey) return known.labels;
    const labels = this.labels(attributes, scope);
    const made = { labels, text: renderLabels(labels) };
    this._points.set(attributes, { scope: scopeKey, labels: made });
    return made;
  }

  /**
   * The labels of `attributes` and `more`, sorted by name. Absent
   * (undefined or null) values are left out.
   * @throws whatever reading `attributes` throws (a hostile Proxy, say).
   */
  labels(
    attributes: Attributes,
    more: readonly (readonly [key: string, value: string])[] = []
  ): LabelPair[] {
    const entries: { name: string; key: string; value: string }[] = [];
    for (const key of Object.keys(attributes)) {
      const value = attributes[key];
      if (value === undefined || value === null) continue;
      entries.push({ name: this.name(key), key, value: valueText(value) });
    }
    for (const [key, value] of more)
      entries.push({ name: this.name(key), key, value });
    entries.sort((a, b) => compare(a.name, b.name) || compare(a.key, b.key));
    const labels: LabelPair[] = [];
    for (let i = 0; i < entries.length; i++) {
      const { name } = entries[i];
      let value = entries[i].value;
      while (i + 1 < entries.length && entries[i + 1].name === name)
        value += `;${entries[++i].value}`;
      labels.push([name, value]);
    }
    return labels;
  }
}

/** `name="value",…` with values escaped as both text formats need. */
export function renderLabels(labels: readonly LabelPair[]): string {
  let text = '';
  for (const [name, value] of labels)
    text += `${text ? ',' : ''}${name}="${escapeLabelValue(value)}"`;
  return text;
}

/** A label value with `\`, `"` and line feeds escaped. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value)
    ? value.replace(/[\\"\n]/g, c => (c === '\n' ? '\\n' : `\\${c}`))
    : value;
}

/**
 * A non-string attribute value as the spec's "AnyValue representation for
 * non-OTLP protocols": numbers and booleans as written, arrays as JSON.
 */
function valueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    try {
      return JSON.stringify(value);
    } catch {
      // An array JSON cannot write (a BigInt in it, say).
    }
  }
  return String(value);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
