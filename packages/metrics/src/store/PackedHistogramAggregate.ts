import type { ExponentialHistogram } from '@opentelemetry/sdk-metrics';
import { ByteReader, ByteWriter } from '@datapunk/otel-common/codec';
import { MetricKind } from '../types';
import type { Aggregate } from './Aggregate';
import { AGGREGATE_OVERHEAD_BYTES } from './Aggregate';
import type { HistogramAggregate } from './HistogramAggregate';

/** The writer, its typed array and buffer headers (V8, 64-bit). */
const PACKED_OVERHEAD_BYTES = 200;

/**
 * A histogram kept in the sketch's binary form: a few bytes per non-empty
 * bucket instead of a dense array over its whole range (20 values spread
 * over two decades: ~150 bytes instead of ~2 KB). Live values of histogram
 * series use it: they change once per collection and are read once per
 * export, so unpacking into the stream's scratch sketch then costs far less
 * than a dense array per series costs in memory.
 */
export class PackedHistogramAggregate implements Aggregate {
  readonly kind = MetricKind.HISTOGRAM;
  private readonly _bytes = new ByteWriter();
  /** Where it is unpacked to be changed or read; shared by the stream. */
  private readonly _scratch: HistogramAggregate;
  private readonly _create: () => HistogramAggregate;
  private _count = 0;
  private _sum = 0;

  constructor(scratch: HistogramAggregate, create: () => HistogramAggregate) {
    this._scratch = scratch;
    this._create = create;
  }

  get isEmpty(): boolean {
    return this._count === 0;
  }

  /** Values held. */
  get count(): number {
    return this._count;
  }

  /** Their exact sum, rounded once. */
  get sum(): number {
    return this._sum;
  }

  get retainedBytes(): number {
    return (
      AGGREGATE_OVERHEAD_BYTES + PACKED_OVERHEAD_BYTES + this._bytes.capacity
    );
  }

  merge(later: Aggregate): void {
    const scratch = this._unpack();
    scratch.merge(later);
    this._pack(scratch);
  }

  mergeFrom(reader: ByteReader): void {
    const scratch = this._unpack();
    scratch.mergeFrom(reader);
    this._pack(scratch);
  }

  clear(): void {
    this._bytes.truncate(0);
    this._count = 0;
    this._sum = 0;
  }

  writeTo(writer: ByteWriter): void {
    // Empty, it has no bytes yet: an empty sketch of its own writes them.
    if (this._bytes.length > 0) writer.writeBytes(this._bytes.bytes);
    else this._create().writeTo(writer);
  }

  toPointValue(): ExponentialHistogram {
    return this._unpack().toPointValue();
  }

  describe() {
    return this._unpacked().describe();
  }

  toJSON() {
    return this._unpacked().toJSON();
  }

  /** The scratch sketch, holding this histogram's data. */
  private _unpack(): HistogramAggregate {
    const scratch = this._scratch;
    scratch.clear();
    if (this._bytes.length > 0)
      scratch.mergeFrom(new ByteReader(this._bytes.bytes));
    return scratch;
  }

  /** A new aggregate of its own holding this histogram's data. */
  private _unpacked(): HistogramAggregate {
    const copy = this._create();
    copy.merge(this);
    return copy;
  }

  private _pack(from: HistogramAggregate): void {
    this._bytes.truncate(0);
    from.writeTo(this._bytes);
    this._count = from.sketch.count;
    this._sum = from.sketch.sum;
  }
}
