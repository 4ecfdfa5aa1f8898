import { isAttributeValue } from '../attributes/AttributeReader';
import type { RangeRule } from './RangeRule';
import {
  checkNumber,
  isPlainObject,
  satisfies,
  checkRecord,
  fail,
  failType,
  rejectUnknownKeys,
} from './checks';

/**
 * An attribute set as the OpenTelemetry API types it (`Attributes`), written
 * out: this subpath needs no OpenTelemetry package, and the sketch, which
 * has none, reaches its types.
 */
export type AttributeRecord = Record<
  string,
  | string
  | number
  | boolean
  | Array<null | undefined | string>
  | Array<null | undefined | number>
  | Array<null | undefined | boolean>
  | undefined
>;

/**
 * Reads one options object for a constructor, applying defaults and throwing
 * errors that name the owner, the option's path and the rule broken:
 * `TypeError` for a wrong type or an unknown option (most often a typo),
 * `RangeError` for a value outside its rule. `null` counts as absent (the
 * default applies), as in JSON configuration.
 */
export class OptionReader {
  private readonly _owner: string;
  private readonly _path: string;
  private readonly _options: Record<string, unknown>;

  /**
   * @param known every option name this object may hold; others throw.
   * @param path  the dotted path of a nested object, e.g. 'limits'.
   */
  constructor(
    owner: string,
    options: unknown,
    known: readonly string[],
    path = ''
  ) {
    this._owner = owner;
    this._path = path;
    if (options === undefined) {
      this._options = {};
      return;
    }
    this._options = checkRecord(
      owner,
      path ? `option '${path}'` : 'options',
      options
    );
    rejectUnknownKeys(
      owner,
      this._options,
      known,
      key => `option '${this.pathOf(key)}'`
    );
  }

  /** Whose options these are, as messages name it. */
  get owner(): string {
    return this._owner;
  }

  /** The full dotted name of an option, for messages. */
  pathOf(name: string): string {
    return this._path ? `${this._path}.${name}` : name;
  }

  /** The raw value, for options this reader has no method for. */
  raw(name: string): unknown {
    return this._options[name];
  }

  /** A finite number within `rule`, or `fallback` when absent (required without one). */
  number(
    name: string,
    fallback: number | undefined,
    rule: RangeRule = {}
  ): number {
    const value = this._options[name] ?? fallback;
    if (value === undefined) this.failType(name, 'given (a number)', value);
    return checkNumber(this._owner, this._field(name), value, rule);
  }

  /** An integer within `rule`, or `fallback` when absent (required without one). */
  integer(
    name: string,
    fallback: number | undefined,
    rule: RangeRule = {}
  ): number {
    return this.number(name, fallback, { ...rule, integer: true });
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this._options[name] ?? fallback;
    if (typeof value !== 'boolean') this.failType(name, 'a boolean', value);
    return value;
  }

  /** A non-empty string, or `fallback` when absent (required without one). */
  string(name: string, fallback?: string): string {
    const value = this._options[name] ?? fallback;
    if (typeof value !== 'string' || value.length === 0) {
      this.failType(name, 'a non-empty string', value);
    }
    return value;
  }

  /** One of `choices`, or `fallback` when absent. */
  oneOf<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const value = this._options[name] ?? fallback;
    if (!choices.includes(value as T)) {
      this.fail(
        name,
        `must be one of ${choices.map(c => `'${c}'`).join(', ')}`,
        value
      );
    }
    return value as T;
  }

  /**
   * Quantiles in (0, 1), as in every Datapunk option (0.99 is p99), or
   * `fallback` when absent; sorted, without repeats. A value in (1, 100) is
   * called out as a percentile, with the quantile it stands for.
   */
  quantiles(
    name: string,
    fallback: readonly number[],
    lengths: { minLength?: number; maxLength: number }
  ): number[] {
    const value = this._options[name];
    const percentile = Array.isArray(value)
      ? value.find(v => typeof v === 'number' && v > 1 && v < 100)
      : undefined;
    if (percentile !== undefined) {
      this.fail(
        name,
        `must hold quantiles in (0, 1), not percentiles: ${+(percentile / 100).toPrecision(12)} for p${percentile}`,
        percentile
      );
    }
    return this.numberList(name, fallback, { above: 0, below: 1, ...lengths });
  }

  /**
   * A list of numbers each within `rule`, with `minLength`–`maxLength`
   * entries, or `fallback` when absent; returned sorted and without repeats.
   */
  numberList(
    name: string,
    fallback: readonly number[],
    rule: RangeRule & { minLength?: number; maxLength: number }
  ): number[] {
    const value: unknown = this._options[name] ?? fallback;
    const { minLength = 0, maxLength, ...range } = rule;
    const bounds = [
      range.above !== undefined ? `> ${range.above}` : '',
      range.below !== undefined ? `< ${range.below}` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    if (
      !Array.isArray(value) ||
      value.length < minLength ||
      value.length > maxLength
    ) {
      this.failType(
        name,
        `an array of ${minLength} to ${maxLength} numbers ${bounds}`,
        value
      );
    }
    for (const entry of value as unknown[]) {
      if (typeof entry !== 'number' || !satisfies(entry, range)) {
        this.fail(name, `must hold numbers ${bounds}`, entry);
      }
    }
    return [...new Set(value as number[])].sort((a, b) => a - b);
  }

  /** A plain object (e.g. attributes), or `fallback` when absent. */
  object(
    name: string,
    fallback: Record<string, unknown>,
    expected = 'an object'
  ): Record<string, unknown> {
    const value = this._options[name] ?? fallback;
    if (!isPlainObject(value)) this.failType(name, expected, value);
    return value;
  }

  /**
   * OpenTelemetry attributes, or `{}` when absent: every value a primitive
   * or a homogeneous array of primitives; another value throws, naming its
   * key. (Bounds on length are the caller's: see AttributeReader.)
   */
  attributes(name: string): AttributeRecord {
    const value = this.object(name, {}, 'an object of attributes');
    let keys: string[];
    try {
      keys = Object.keys(value);
    } catch {
      return this.failType(name, 'an object of attributes', value);
    }
    for (const key of keys) {
      let entry: unknown;
      try {
        entry = value[key];
      } catch {
        entry = Symbol.for('unreadable');
      }
      if (key === '' || !isAttributeValue(entry)) {
        this.failType(
          `${name}.${key}`,
          'a string, number or boolean, or an array of one of those types',
          entry
        );
      }
    }
    return value as AttributeRecord;
  }

  /** A nested options object, read with its own known names. */
  nested(name: string, known: readonly string[]): OptionReader {
    return new OptionReader(
      this._owner,
      this._options[name],
      known,
      this.pathOf(name)
    );
  }

  /**
   * Checks a rule between two options: `value` of `name` must be `relation`
   * (≥, > or ≤) `otherValue` of `otherName`; `why` explains the rule.
   */
  ordered(
    name: string,
    value: number,
    relation: '≥' | '>' | '≤' | '<',
    otherName: string,
    otherValue: number,
    why = ''
  ): void {
    const holds =
      relation === '≥'
        ? value >= otherValue
        : relation === '>'
          ? value > otherValue
          : relation === '≤'
            ? value <= otherValue
            : value < otherValue;
    if (!holds) {
      this.fail(
        name,
        `must be ${relation} '${otherName}' (${otherValue})${why ? `, ${why}` : ''}`,
        value
      );
    }
  }

  /** Throws a RangeError: option `name` (got `value`) `rule`. */
  fail(name: string, rule: string, ...value: [unknown?]): never {
    return fail(this._owner, this._field(name), rule, ...value);
  }

  /** Throws a TypeError: option `name` must be `expected`. */
  failType(name: string, expected: string, value: unknown): never {
    return failType(this._owner, this._field(name), expected, value);
  }

  private _field(name: string): string {
    return `option '${this.pathOf(name)}'`;
  }
}
