/** Launch durations (request → Ready), kept for the admin histogram and the slow-start notice. */
export const HISTOGRAM_BOUNDS_SECONDS = [1, 2, 5, 10, 20, 30, 60, 120, 300] as const;

export interface HistogramBucket {
  /** Upper bound in seconds; `null` for the overflow bucket. */
  le: number | null;
  label: string;
  count: number;
}

export class LaunchStats {
  private readonly recorded: number[] = [];

  constructor(
    /** What to assume before any launch has finished. */
    private readonly defaultTypicalMs: number,
    private readonly keep = 1000,
    /**
     * Where the durations come from when they are shared (read on every question);
     * `record` then does nothing. Default: the durations recorded here.
     */
    private readonly source?: () => readonly number[],
  ) {}

  private get durations(): readonly number[] {
    return this.source ? this.source().map((ms) => Math.max(0, ms)) : this.recorded;
  }

  record(durationMs: number): void {
    if (this.source) return;
    this.recorded.push(Math.max(0, durationMs));
    if (this.recorded.length > this.keep) this.recorded.shift();
  }

  get count(): number {
    return this.durations.length;
  }

  /** The median launch time, padded by half so ordinary variation is not called "slow". */
  typicalMs(): number {
    if (this.durations.length === 0) return this.defaultTypicalMs;
    return Math.round(quantile(this.durations, 0.5) * 1.5);
  }

  quantileMs(q: number): number | undefined {
    return this.durations.length === 0 ? undefined : quantile(this.durations, q);
  }

  histogram(): HistogramBucket[] {
    const buckets: HistogramBucket[] = HISTOGRAM_BOUNDS_SECONDS.map((le, i) => ({
      le,
      label: i === 0 ? `≤ ${le}s` : `${HISTOGRAM_BOUNDS_SECONDS[i - 1]}–${le}s`,
      count: 0,
    }));
    const last = HISTOGRAM_BOUNDS_SECONDS[HISTOGRAM_BOUNDS_SECONDS.length - 1];
    buckets.push({ le: null, label: `> ${last}s`, count: 0 });
    for (const ms of this.durations) {
      const s = ms / 1000;
      const index = HISTOGRAM_BOUNDS_SECONDS.findIndex((le) => s <= le);
      const bucket = buckets[index < 0 ? buckets.length - 1 : index]!;
      bucket.count += 1;
    }
    return buckets;
  }
}

/** Linear-interpolated quantile of unsorted values. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError("quantile of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (pos - lo);
}
