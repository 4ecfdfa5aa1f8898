/**
 * The key a quantile is reported under in every Datapunk result: 'p50' for
 * 0.5, 'p99.9' for 0.999 (quantiles are given in (0, 1) everywhere).
 */
export function quantileKey(quantile: number): string {
  return `p${+(quantile * 100).toFixed(6)}`;
}
