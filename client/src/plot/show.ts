/**
 * `show(spec)`: a Vega-Lite chart in the notebook (JupyterLab renders
 * `application/vnd.vegalite.v5+json` itself, also in untrusted notebooks), with a text
 * table beside it for anything that cannot draw (nbconvert to text, a terminal).
 * Outside a tslab kernel it prints only the text.
 */
import { z } from "zod";
import { parseOptions } from "../options.js";
import { tslabShowBundle } from "../progress/notebook-display.js";
import { round, type VegaLiteSpec } from "./charts.js";

export const VEGA_LITE_MIME = "application/vnd.vegalite.v5+json";

const Spec = z.looseObject({
  $schema: z.string().regex(/vega-lite\/v5/, {
    message: "show() draws Vega-Lite v5 specs (like those of bars(), heatmap(), timings())",
  }),
  title: z.unknown().optional(),
  data: z.looseObject({ values: z.array(z.record(z.string(), z.unknown())) }),
});

/** The spec's data as an aligned text table (numbers rounded), headed by its title. */
export function specText(spec: VegaLiteSpec): string {
  const rows = round(spec.data.values, 3);
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = [columns, ...rows.map((r) => columns.map((c) => String(r[c] ?? "")))];
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const lines = cells.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join("  ")
      .trimEnd(),
  );
  const title = typeof spec.title === "string" ? [spec.title] : [];
  return [...title, ...lines].join("\n");
}

export interface ShowOptions {
  /** Where the text goes outside a notebook (default process.stdout). */
  stream?: { write(text: string): unknown };
}

/** Displays a chart: Vega-Lite in a tslab notebook, a text table elsewhere. Returns the spec. */
export function show(spec: VegaLiteSpec, options: ShowOptions = {}): VegaLiteSpec {
  const checked = parseOptions(Spec, spec, "chart") as VegaLiteSpec;
  const text = specText(checked);
  if (!tslabShowBundle({ [VEGA_LITE_MIME]: checked, "text/plain": text })) {
    (options.stream ?? process.stdout).write(`${text}\n`);
  }
  return checked;
}
