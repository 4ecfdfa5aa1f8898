import type { ByteReader, ByteWriter } from '@datapunk/otel-common/codec';
import { MetricKind } from '../types';
import type { Aggregate } from './Aggregate';
import { AGGREGATE_OVERHEAD_BYTES } from './Aggregate';

/** A counter's or up-down counter's total over some time. */
export class SumAggregate implements Aggregate {
  readonly kind = MetricKind.SUM;
  total = 0;
  private _empty = true;

  get isEmpty(): boolean {
    return this._empty;
  }

  get retainedBytes(): number {
    return AGGREGATE_OVERHEAD_BYTES;
  }

  add(value: number): void {
    this.total += value;
    this._empty = false;
  }

  merge(later: Aggregate): void {
    const other = later as SumAggregate;
    if (!other._empty) this.add(other.total);
  }

  clear(): void {
    this.total = 0;
    this._empty = true;
  }

  writeTo(writer: ByteWriter): void {
    writer.writeByte(this._empty ? 0 : 1);
    if (!this._empty) writer.writeFloat64(this.total);
  }

  mergeFrom(reader: ByteReader): void {
    if (reader.readByte() === 1) this.add(reader.readFloat64());
  }

  toPointValue(): number {
    return this.total;
  }

  describe() {
    return { sum: this.total };
  }

  toJSON(): number | null {
    return this._empty ? null : this.total;
  }

  /** @throws {TypeError} unless `json` is null or a finite number. */
  static fromJSON(json: unknown, field: string): SumAggregate {
    const aggregate = new SumAggregate();
    if (json === null) return aggregate;
    if (typeof json !== 'number' || !Number.isFinite(json)) {
      throw new TypeError(`'${field}' must be a finite number or null`);
    }
    aggregate.add(json);
    return aggregate;
  }
}
