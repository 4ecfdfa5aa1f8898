import { expect } from 'chai';
import { OptionReader } from '../src';

describe('OptionReader', () => {
  const read = (options: unknown) =>
    new OptionReader('Owner', options, [
      'interval',
      'name',
      'mode',
      'flag',
      'limits',
    ]);

  it('applies defaults and returns valid values', () => {
    const options = read({ interval: 5, mode: 'b' });
    expect(options.integer('interval', 1, { min: 1 })).to.equal(5);
    expect(options.oneOf('mode', ['a', 'b'], 'a')).to.equal('b');
    expect(options.boolean('flag', true)).to.equal(true);
    expect(options.string('name', 'fallback')).to.equal('fallback');
    expect(read(undefined).number('interval', 2.5, { above: 0 })).to.equal(2.5);
  });

  const failures: [string, () => unknown, ErrorConstructor, RegExp][] = [
    [
      'a non-object',
      () => read(5),
      TypeError,
      /^Owner: options must be an object, got 5$/,
    ],
    [
      'an unknown option',
      () => read({ intervall: 1 }),
      TypeError,
      /unknown option 'intervall' \(known: interval, name, mode, flag, limits\)/,
    ],
    [
      'a string for a number',
      () => read({ interval: '5' }).integer('interval', 1),
      TypeError,
      /option 'interval' must be a number, got the string "5"/,
    ],
    [
      'a fraction for an integer',
      () => read({ interval: 1.5 }).integer('interval', 1, { min: 1 }),
      RangeError,
      /option 'interval' must be an integer ≥ 1, got 1.5/,
    ],
    [
      'a value below min',
      () => read({ interval: 0 }).integer('interval', 1, { min: 1, max: 9 }),
      RangeError,
      /must be an integer ≥ 1 and ≤ 9, got 0/,
    ],
    [
      'not above',
      () => read({ interval: 0 }).number('interval', 1, { above: 0 }),
      RangeError,
      /must be a finite number > 0, got 0/,
    ],
    [
      'NaN',
      () => read({ interval: NaN }).number('interval', 1),
      RangeError,
      /must be a finite number, got NaN/,
    ],
    [
      'a bad choice',
      () => read({ mode: 'c' }).oneOf('mode', ['a', 'b'], 'a'),
      RangeError,
      /option 'mode' must be one of 'a', 'b', got the string "c"/,
    ],
    [
      'an empty string',
      () => read({ name: '' }).string('name'),
      TypeError,
      /option 'name' must be a non-empty string/,
    ],
    [
      'a missing required number',
      () => read({}).integer('interval', undefined),
      TypeError,
      /option 'interval' must be given \(a number\), got undefined/,
    ],
    [
      'a missing required string',
      () => read({}).string('name'),
      TypeError,
      /option 'name' must be a non-empty string, got undefined/,
    ],
    [
      'a bad nested option',
      () =>
        read({ limits: { max: -1 } })
          .nested('limits', ['max'])
          .integer('max', 1, { min: 1 }),
      RangeError,
      /option 'limits\.max' must be an integer ≥ 1, got -1/,
    ],
    [
      'an unknown nested option',
      () => read({ limits: { mx: 1 } }).nested('limits', ['max']),
      TypeError,
      /unknown option 'limits\.mx' \(known: max\)/,
    ],
    [
      'a nested non-object',
      () => read({ limits: [] }).nested('limits', ['max']),
      TypeError,
      /option 'limits' must be an object, got an array of 0/,
    ],
  ];
  for (const [name, attempt, type, message] of failures) {
    it(`throws for ${name}`, () => {
      expect(attempt).to.throw(type, message);
    });
  }

  it('reads a list of numbers, sorted and without repeats', () => {
    const options = new OptionReader('Owner', { qs: [0.9, 0.5, 0.9] }, [
      'qs',
      'empty',
    ]);
    const rule = { above: 0, below: 1, maxLength: 4 };
    expect(options.numberList('qs', [], rule)).to.deep.equal([0.5, 0.9]);
    expect(options.numberList('empty', [0.3], rule)).to.deep.equal([0.3]);
    const bad = (qs: unknown) => () =>
      new OptionReader('Owner', { qs }, ['qs']).numberList('qs', [], {
        ...rule,
        minLength: 1,
      });
    expect(bad([1])).to.throw(
      RangeError,
      /^Owner: option 'qs' must hold numbers > 0 and < 1, got 1$/
    );
    expect(bad(['0.5'])).to.throw(
      RangeError,
      /must hold numbers > 0 and < 1, got the string "0.5"/
    );
    expect(bad([])).to.throw(
      TypeError,
      /option 'qs' must be an array of 1 to 4 numbers > 0 and < 1, got an array of 0/
    );
    expect(bad(0.5)).to.throw(TypeError, /must be an array of 1 to 4 numbers/);
  });

  it('checks the order of two options', () => {
    const options = read({ interval: 5 });
    expect(() =>
      options.ordered('interval', 5, '≥', 'other', 5)
    ).not.to.throw();
    expect(() =>
      options.ordered('interval', 5, '≤', 'other', 4, 'or it breaks')
    ).to.throw(
      RangeError,
      /^Owner: option 'interval' must be ≤ 'other' \(4\), or it breaks, got 5$/
    );
  });

  it('words a rule between options', () => {
    expect(() =>
      read({ interval: 3 }).fail('interval', "must be ≤ 'other' (2)", 3)
    ).to.throw(
      RangeError,
      /^Owner: option 'interval' must be ≤ 'other' \(2\), got 3$/
    );
  });
});
