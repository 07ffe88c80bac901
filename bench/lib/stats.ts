// Small descriptive statistics for benchmark samples. Few samples (3 to 10 rounds) are the norm, so
// percentiles use the nearest-rank method: p95 of 5 samples is the largest, never an interpolation
// that invents a value nobody measured.

export interface Summary {
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
}

/** Nearest-rank percentile (0 < p <= 100) of `values`; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** The median; for an even count, the mean of the two middle values. NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    median: median(values),
    p95: percentile(values, 95),
    min: values.length ? Math.min(...values) : Number.NaN,
    max: values.length ? Math.max(...values) : Number.NaN,
  };
}

/** "1,234 ms (1,100–1,400)" for milliseconds: the median, then the range when there are several samples. */
export function formatMs(s: Summary): string {
  if (s.n === 0) return '–';
  const ms = (v: number) => Math.round(v).toLocaleString('en-US');
  return s.n === 1 || s.min === s.max
    ? `${ms(s.median)} ms`
    : `${ms(s.median)} ms (${ms(s.min)}–${ms(s.max)})`;
}

export const MiB = 1024 * 1024;

/** Bytes as MiB with one decimal ("118.4 MiB"). */
export function formatMiB(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

/** `value / best` as "1.00×", "0.45×"; "–" when either is missing. */
export function ratio(value: number | undefined, best: number | undefined): string {
  if (
    value === undefined ||
    best === undefined ||
    !Number.isFinite(value) ||
    !Number.isFinite(best) ||
    best <= 0
  )
    return '–';
  return `${(value / best).toFixed(2)}×`;
}
