/** A typed array of the same kind, `length` long, holding `array`'s elements first. */
export function grow<
  T extends Float64Array | Int32Array | Uint8Array | Int8Array | Uint16Array,
>(array: T, length: number): T {
  const grown = new (array.constructor as new (length: number) => T)(length);
  grown.set(array);
  return grown;
}
