/**
 * Vega-Lite specs for what a tutorial shows: timing bars (sequential vs cluster), bar
 * charts of grouped results and heat maps of a parameter grid. Each function returns a
 * plain Vega-Lite v5 spec (data inlined), which `show()` displays in JupyterLab (it renders
 * `application/vnd.vegalite.v5+json` natively) or prints as a text table elsewhere.
 */
import { z } from "zod";
import { invalidOption } from "../errors.js";
import { parseOptions } from "../options.js";

export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

export type Row = Record<string, unknown>;

/** A Vega-Lite v5 spec with inline data (what every chart function here returns). */
export interface VegaLiteSpec {
  $schema: string;
  title?: string;
  data: { values: Row[] };
  /** Not drawn: what the chart shows, for programs (e.g. `{ launchbay: { kind: "timings", ... } }`). */
  usermeta?: Record<string, unknown>;
  [property: string]: unknown;
}

const FieldName = z.string().min(1).max(200);
const Rows = z
  .array(z.record(z.string(), z.unknown()), { message: "rows must be an array of objects" })
  .min(1, { message: "rows must hold at least one row: nothing to plot" })
  .max(100_000);

const BarOptions = z.strictObject({
  /** The category field (one bar per value). */
  x: FieldName,
  /** The numeric field (the bar's length). */
  y: FieldName,
  /** Optional field that colours the bars (e.g. a second category). */
  color: FieldName.optional(),
  title: z.string().max(200).optional(),
  /** Sort bars by value, largest first (default false: in the rows' order). */
  sort: z.boolean().optional(),
  /** Horizontal bars (categories down the side; default true: long labels read better). */
  horizontal: z.boolean().optional(),
});
export type BarOptions = z.input<typeof BarOptions>;

const HeatmapOptions = z.strictObject({
  x: FieldName,
  y: FieldName,
  /** The numeric field shown as colour (and printed in each cell). */
  value: FieldName,
  title: z.string().max(200).optional(),
  /** Colour scheme (Vega's names; default "viridis"). Lower values darker. */
  scheme: z.string().min(1).max(40).optional(),
  /** Digits of the number printed in each cell (default 3). */
  digits: z.number().int().min(0).max(10).optional(),
});
export type HeatmapOptions = z.input<typeof HeatmapOptions>;

const Timings = z
  .record(
    z.string().min(1).max(100),
    z.number().finite().nonnegative({ message: "a duration is milliseconds, 0 or more" }),
  )
  .refine((t) => Object.keys(t).length > 0, { message: "give at least one timing" });
const TimingOptions = z.strictObject({ title: z.string().max(200).optional() });
export type TimingOptions = z.input<typeof TimingOptions>;

function rowsOf(rows: unknown, what: string): Row[] {
  return parseOptions(Rows, rows, `${what} rows`);
}

function requireFields(rows: Row[], fields: (string | undefined)[], what: string): void {
  for (const field of fields) {
    if (field !== undefined && !rows.some((row) => field in row)) {
      throw invalidOption(
        `invalid ${what}: no row has a field "${field}" (the first row has: ${Object.keys(rows[0]!).join(", ")})`,
      );
    }
  }
}

/** Rounds every number in `value` (records, arrays, nested) to `digits` decimals; for tables. */
export function round<T>(value: T, digits = 2): T {
  const d = parseOptions(z.number().int().min(0).max(15), digits, "round digits");
  const f = 10 ** d;
  const walk = (v: unknown): unknown => {
    if (typeof v === "number") return Number.isFinite(v) ? Math.round(v * f) / f : v;
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}

/** "2.8× faster" or "1.3× slower": `duration` against `base`. */
export function speedUp(base: number, duration: number): string {
  if (duration <= 0 || base <= 0) return "too fast to compare";
  return base >= duration
    ? `${(base / duration).toFixed(1)}× faster`
    : `${(duration / base).toFixed(1)}× slower`;
}

/** A bar per row: `bars(rows, { x: "origin", y: "meanDelay" })`. */
export function bars(rows: Row[], options: BarOptions): VegaLiteSpec {
  const o = parseOptions(BarOptions, options, "bars options");
  const values = rowsOf(rows, "bars");
  requireFields(values, [o.x, o.y, o.color], "bars options");
  const horizontal = o.horizontal ?? true;
  const category = {
    field: o.x,
    type: "nominal",
    sort: o.sort ? "-x" : null,
    title: o.x,
  };
  const amount = { field: o.y, type: "quantitative", title: o.y };
  if (o.sort && !horizontal) category.sort = "-y";
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...(o.title ? { title: o.title } : {}),
    data: { values: round(values, 3) },
    mark: { type: "bar", tooltip: true },
    encoding: {
      ...(horizontal ? { y: category, x: amount } : { x: category, y: amount }),
      ...(o.color ? { color: { field: o.color, type: "nominal" } } : {}),
    },
    width: 360,
  };
}

/** A grid of coloured cells, e.g. validation error per (degree, lambda). */
export function heatmap(rows: Row[], options: HeatmapOptions): VegaLiteSpec {
  const o = parseOptions(HeatmapOptions, options, "heatmap options");
  const values = rowsOf(rows, "heatmap");
  requireFields(values, [o.x, o.y, o.value], "heatmap options");
  const digits = o.digits ?? 3;
  const encodeCell = {
    x: { field: o.x, type: "ordinal", title: o.x },
    y: { field: o.y, type: "ordinal", title: o.y },
  };
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...(o.title ? { title: o.title } : {}),
    data: { values: round(values, 6) },
    encoding: encodeCell,
    layer: [
      {
        mark: { type: "rect", tooltip: true },
        encoding: {
          color: {
            field: o.value,
            type: "quantitative",
            scale: { scheme: o.scheme ?? "viridis" },
            title: o.value,
          },
        },
      },
      {
        mark: { type: "text", fontSize: 10 },
        encoding: {
          text: { field: o.value, type: "quantitative", format: `.${digits}~g` },
          color: { value: "white" },
        },
      },
    ],
  };
}

/**
 * Bars of durations in milliseconds, with each one's speed-up over the first:
 * `timings({ sequential: 2010, cluster: 720 })`. The figures are also kept in
 * `usermeta.launchbay` (`{ kind: "timings", ms }`), so a program reading the notebook
 * (the tutorial test) finds them.
 */
export function timings(ms: Record<string, number>, options: TimingOptions = {}): VegaLiteSpec {
  const t = parseOptions(Timings, ms, "timings");
  const o = parseOptions(TimingOptions, options, "timings options");
  const entries = Object.entries(t);
  const base = entries[0]![1];
  const values = entries.map(([run, duration]) => ({
    run,
    ms: Math.round(duration),
    label:
      run === entries[0]![0]
        ? `${Math.round(duration)} ms`
        : `${Math.round(duration)} ms (${speedUp(base, duration)})`,
  }));
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: o.title ?? "wall-clock time (shorter is better)",
    data: { values },
    usermeta: { launchbay: { kind: "timings", ms: round(t, 1) } },
    encoding: {
      y: { field: "run", type: "nominal", sort: null, title: null },
      x: { field: "ms", type: "quantitative", title: "milliseconds" },
    },
    layer: [
      { mark: { type: "bar", tooltip: true }, encoding: { color: { field: "run", legend: null } } },
      { mark: { type: "text", align: "left", dx: 4 }, encoding: { text: { field: "label" } } },
    ],
    width: 360,
  };
}
