/** One side's figures, and the table that compares launchbay with Dask (pure). */
export interface RuntimeFigures {
  throughputTasksPerS: number;
  roundTripP50Ms: number;
  roundTripP99Ms: number;
  chainS: number;
  transferGBPerS: number | undefined;
  schedulerRssDeltaMiB: number;
}

interface Row {
  label: string;
  launchbay: number | undefined;
  dask: number | undefined;
  unit: string;
  /** Whether more is better (ratio = launchbay / dask) or less (ratio = dask / launchbay). */
  higherIsBetter: boolean;
  target?: {
    text: string;
    met: (launchbay: number, dask: number | undefined) => boolean | undefined;
  };
}

function fmt(value: number | undefined, unit: string): string {
  if (value === undefined || !Number.isFinite(value)) return "n/a";
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : value >= 1 ? 2 : 3;
  return `${value.toFixed(digits)} ${unit}`;
}

export function comparisonTable(
  launchbay: RuntimeFigures,
  dask: RuntimeFigures | undefined,
  sizes: { tasks: number; chain: number; transferMB: number; held: number },
): string {
  const rows: Row[] = [
    {
      label: `(a) ${sizes.tasks} no-op tasks via map`,
      launchbay: launchbay.throughputTasksPerS,
      dask: dask?.throughputTasksPerS,
      unit: "tasks/s",
      higherIsBetter: true,
      target: { text: "≥ 25× Dask", met: (l, d) => (d === undefined ? undefined : l >= 25 * d) },
    },
    {
      label: "(b) round trip p50",
      launchbay: launchbay.roundTripP50Ms,
      dask: dask?.roundTripP50Ms,
      unit: "ms",
      higherIsBetter: false,
      target: { text: "≤ 0.5 ms", met: (l) => l <= 0.5 },
    },
    {
      label: "(b) round trip p99",
      launchbay: launchbay.roundTripP99Ms,
      dask: dask?.roundTripP99Ms,
      unit: "ms",
      higherIsBetter: false,
    },
    {
      label: `(c) ${sizes.chain}-task dependency chain`,
      launchbay: launchbay.chainS,
      dask: dask?.chainS,
      unit: "s",
      higherIsBetter: false,
    },
    {
      label: `(d) ${sizes.transferMB} MB worker-to-worker`,
      launchbay: launchbay.transferGBPerS,
      dask: dask?.transferGBPerS,
      unit: "GB/s",
      higherIsBetter: true,
      target: { text: "≥ 1 GB/s", met: (l) => l >= 1 },
    },
    {
      label: `(e) scheduler RSS, ${sizes.held} tasks held`,
      launchbay: launchbay.schedulerRssDeltaMiB,
      dask: dask?.schedulerRssDeltaMiB,
      unit: "MiB",
      higherIsBetter: false,
    },
  ];
  const header = ["measurement", "launchbay", "dask", "launchbay vs dask", "target"];
  const lines = rows.map((r) => {
    let ratio = "n/a";
    if (r.launchbay !== undefined && r.dask !== undefined && r.launchbay > 0 && r.dask > 0) {
      const x = r.higherIsBetter ? r.launchbay / r.dask : r.dask / r.launchbay;
      ratio = `${x.toFixed(x >= 10 ? 0 : 1)}× ${x >= 1 ? "better" : "worse"}`;
    }
    let target = "";
    if (r.target && r.launchbay !== undefined) {
      const met = r.target.met(r.launchbay, r.dask);
      target = `${r.target.text}: ${met === undefined ? "n/a" : met ? "PASS" : "MISS"}`;
    }
    return [r.label, fmt(r.launchbay, r.unit), fmt(r.dask, r.unit), ratio, target];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const render = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [render(header), widths.map((w) => "-".repeat(w)).join("  "), ...lines.map(render)].join(
    "\n",
  );
}

/** The median of each figure over several rounds (undefined when no round measured it). */
export function medianFigures(rounds: readonly RuntimeFigures[]): RuntimeFigures {
  const median = (values: (number | undefined)[]) => {
    const known = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (known.length === 0) return undefined;
    const sorted = [...known].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const of = (key: keyof RuntimeFigures) => median(rounds.map((r) => r[key]));
  return {
    throughputTasksPerS: of("throughputTasksPerS") ?? Number.NaN,
    roundTripP50Ms: of("roundTripP50Ms") ?? Number.NaN,
    roundTripP99Ms: of("roundTripP99Ms") ?? Number.NaN,
    chainS: of("chainS") ?? Number.NaN,
    transferGBPerS: of("transferGBPerS"),
    schedulerRssDeltaMiB: of("schedulerRssDeltaMiB") ?? Number.NaN,
  };
}

export function percentile(sorted: readonly number[], q: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[index]!;
}
