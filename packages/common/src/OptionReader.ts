import type { RangeRule } from './types';

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
    if (
      typeof options !== 'object' ||
      options === null ||
      Array.isArray(options)
    ) {
      throw new TypeError(
        `${owner}: ${path ? `option '${path}'` : 'options'} must be an object, got ${describeValue(options)}`
      );
    }
    this._options = options as Record<string, unknown>;
    for (const key of Object.keys(this._options)) {
      if (!known.includes(key)) {
        throw new TypeError(
          `${owner}: unknown option '${this.pathOf(key)}' (known: ${known.join(', ')})`
        );
      }
    }
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
    if (typeof value !== 'number') this.failType(name, 'a number', value);
    if (
      Number.isNaN(value) ||
      (!Number.isFinite(value) && !(rule.infinite && value === Infinity)) ||
      !satisfies(value, rule) ||
      (rule.integer && !Number.isInteger(value))
    ) {
      this.fail(name, `must be ${describeRule(rule)}`, value);
    }
    return value;
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
   * A list of numbers each within `rule`, with `minLength`–`maxLength`
   * entries, or `fallback` when absent; returned sorted and without repeats.
   */
  numberList(
    name: string,
    fallback: readonly number[],
    rule: RangeRule & { below?: number; minLength?: number; maxLength: number }
  ): number[] {
    const value: unknown = this._options[name] ?? fallback;
    const { minLength = 0, maxLength, below, ...range } = rule;
    const bounds = [
      range.above !== undefined ? `> ${range.above}` : '',
      below !== undefined ? `< ${below}` : '',
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
      if (
        typeof entry !== 'number' ||
        !satisfies(entry, range) ||
        !(below === undefined || entry < below)
      ) {
        this.fail(name, `must hold numbers ${bounds}`, entry);
      }
    }
    return [...new Set(value as number[])].sort((a, b) => a - b);
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
    relation: '≥' | '>' | '≤',
    otherName: string,
    otherValue: number,
    why = ''
  ): void {
    const holds =
      relation === '≥'
        ? value >= otherValue
        : relation === '>'
          ? value > otherValue
          : value <= otherValue;
    if (!holds) {
      this.fail(
        name,
        `must be ${relation} '${otherName}' (${otherValue})${why ? `, ${why}` : ''}`,
        value
      );
    }
  }

  /** Throws a RangeError: option `name` (got `value`) `rule`. */
  fail(name: string, rule: string, value?: unknown): never {
    const got = arguments.length > 2 ? `, got ${describeValue(value)}` : '';
    throw new RangeError(
      `${this._owner}: option '${this.pathOf(name)}' ${rule}${got}`
    );
  }

  /** Throws a TypeError: option `name` must be `expected`. */
  failType(name: string, expected: string, value: unknown): never {
    throw new TypeError(
      `${this._owner}: option '${this.pathOf(name)}' must be ${expected}, got ${describeValue(value)}`
    );
  }
}

function satisfies(value: number, rule: RangeRule): boolean {
  return (
    (rule.min === undefined || value >= rule.min) &&
    (rule.max === undefined || value <= rule.max) &&
    (rule.above === undefined || value > rule.above)
  );
}

function describeRule(rule: RangeRule): string {
  const kind = rule.integer
    ? 'an integer'
    : rule.infinite
      ? 'a number (Infinity allowed)'
      : 'a finite number';
  const bounds = [
    rule.min !== undefined ? `≥ ${rule.min}` : '',
    rule.above !== undefined ? `> ${rule.above}` : '',
    rule.max !== undefined ? `≤ ${rule.max}` : '',
  ].filter(Boolean);
  return bounds.length > 0 ? `${kind} ${bounds.join(' and ')}` : kind;
}

/** A short, safe description of any value for an error message. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'object':
      return 'an object';
    case 'function':
      return 'a function';
    case 'bigint':
      return `the bigint ${value}`;
    default:
      return String(value);
  }
}
