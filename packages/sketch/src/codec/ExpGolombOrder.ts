import { bitLength } from './BitWriter';

/** Bits that hold an order: orders 0–7, beyond which counts and gaps rarely gain. */
export const ORDER_BITS = 3;
const MAX_ORDER = (1 << ORDER_BITS) - 1;

/**
 * Picks the Exp-Golomb order that writes a set of values in the fewest
 * bits, from how many values have each bit length (one pass, no sort).
 * A b-bit value takes order + 1 bits when b ≤ order, order + 3 when
 * b = order + 1, and 2b − order − 1 above, 2 more when its quotient's bits
 * are all ones: that case is left out, so the pick may miss by a few bits.
 */
export class ExpGolombOrder {
  /** values[b]: how many values have bit length b. */
  private readonly _values = new Float64Array(54);
  private _longest = 0;

  add(value: number): void {
    const length = bitLength(value);
    this._values[length]++;
    if (length > this._longest) this._longest = length;
  }

  /** The best order for the values added since the last call; starts over. */
  take(): number {
    let best = 0;
    let fewest = Infinity;
    for (let order = 0; order <= MAX_ORDER; order++) {
      let bits = 0;
      for (let length = 0; length <= this._longest; length++) {
        const values = this._values[length];
        if (values === 0) continue;
        bits +=
          values *
          (length <= order
            ? order + 1
            : length === order + 1
              ? order + 3
              : 2 * length - order - 1);
      }
      if (bits < fewest) {
        fewest = bits;
        best = order;
      }
    }
    this._values.fill(0, 0, this._longest + 1);
    this._longest = 0;
    return best;
  }
}
