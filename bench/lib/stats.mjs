// Small statistics and formatting helpers shared by every section.

export function median(xs) {
  const a = xs.filter((x) => Number.isFinite(x)).sort((p, q) => p - q);
  if (a.length === 0) return NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of an array of numbers. */
export function percentile(xs, p) {
  const a = Float64Array.from(xs).sort();
  if (a.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * a.length);
  return a[Math.min(a.length - 1, Math.max(0, rank - 1))];
}

/** Summary of repeated measurements: median plus spread (max-min)/median. */
export function summarize(xs) {
  const med = median(xs);
  const finite = xs.filter((x) => Number.isFinite(x));
  const spread = finite.length > 1 && med ? (Math.max(...finite) - Math.min(...finite)) / med : 0;
  return { median: med, runs: xs, spread };
}

export function fmtOps(x) {
  if (!Number.isFinite(x)) return 'n/a';
  if (x >= 1e6) return (x / 1e6).toFixed(2) + ' M/s';
  if (x >= 1e3) return (x / 1e3).toFixed(1) + ' k/s';
  return x.toFixed(0) + ' /s';
}

export function fmtNum(x, digits = 1) {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  return x.toFixed(digits);
}

export function fmtMs(x) {
  if (!Number.isFinite(x)) return 'n/a';
  if (x < 0.1) return (x * 1000).toFixed(1) + ' µs';
  if (x < 10) return x.toFixed(2) + ' ms';
  return x.toFixed(1) + ' ms';
}

export function fmtBytes(x) {
  if (!Number.isFinite(x)) return 'n/a';
  if (x >= 1024 * 1024 * 1024) return (x / 1024 ** 3).toFixed(2) + ' GiB';
  if (x >= 1024 * 1024) return (x / 1024 ** 2).toFixed(1) + ' MiB';
  if (x >= 1024) return (x / 1024).toFixed(1) + ' KiB';
  return x.toFixed(0) + ' B';
}

export function fmtRatio(x) {
  if (!Number.isFinite(x)) return '—';
  return x.toFixed(2) + '×';
}

export function fmtPct(x, digits = 2) {
  if (!Number.isFinite(x)) return 'n/a';
  return (x * 100).toFixed(digits) + '%';
}

/** Milliseconds since an origin, high resolution. */
export const now = () => performance.now();
