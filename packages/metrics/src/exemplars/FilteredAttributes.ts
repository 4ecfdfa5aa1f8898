import type { Attributes } from '@opentelemetry/api';
import type { AttributeReader } from '@datapunk/otel-common';

/**
 * The longest attribute key of an exemplar's filtered attributes, in
 * UTF-16 units (the encoded form: names, values and their lengths): past
 * it the exemplar is dropped and counted rather than kept without them.
 */
export const MAX_FILTERED_KEY_LENGTH = 1024;

/** Where a reservoir gets an exemplar's filtered attributes from. */
export interface FilteredAttributesOf {
  /** Their attribute key ('' for none), or undefined when too long to keep. */
  keyOf(attributes: unknown): string | undefined;
}

/**
 * An exemplar's filtered attributes: those of the measurement that a
 * View's attribute processors took off its series (the specification keeps
 * them on the exemplar, so that the two together are the measurement's).
 * Worked out only for a measurement that becomes an exemplar, from the
 * attributes as the store reads them (never the caller's object).
 */
export class FilteredAttributes implements FilteredAttributesOf {
  private readonly _reader: AttributeReader;
  private readonly _process: (attributes: Attributes) => Attributes;

  constructor(
    reader: AttributeReader,
    process: (attributes: Attributes) => Attributes
  ) {
    this._reader = reader;
    this._process = process;
  }

  /**
   * The attribute key of what the processors took off `attributes` (as
   * decodeAttributeKey reads it): '' for nothing (or attributes that cannot
   * be read or processed: their measurement has no series), undefined when
   * it is longer than {@link MAX_FILTERED_KEY_LENGTH}.
   */
  keyOf(attributes: unknown): string | undefined {
    const read = this._reader.read(attributes);
    if (read === undefined || read.key === '') return '';
    let kept: Attributes;
    try {
      kept = this._process(read.attributes);
      const filtered: Attributes = {};
      let any = false;
      for (const [name, value] of Object.entries(read.attributes)) {
        if (Object.prototype.hasOwnProperty.call(kept, name)) continue;
        filtered[name] = value;
        any = true;
      }
      if (!any) return '';
      const key = this._reader.read(filtered)?.key ?? '';
      return key.length > MAX_FILTERED_KEY_LENGTH ? undefined : key;
    } catch {
      // A processor that throws: its measurement was rejected.
      return '';
    }
  }

  /** The filtered attributes of one attribute set, worked out once (a bound handle's). */
  bound(attributes: unknown): FilteredAttributesOf {
    const key = this.keyOf(attributes);
    return { keyOf: () => key };
  }
}
