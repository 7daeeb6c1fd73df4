/**
 * `progress(futures | collection)`: a live progress bar, like Dask's `progress`, that
 * resolves once every future is done. In a tslab notebook it is one output area updated
 * in place; elsewhere a line redrawn with `\r` (which a terminal, and a notebook's stream
 * output, show in place).
 */
import { z } from "zod";
import { Bag } from "../collections/bag.js";
import { Table } from "../collections/table.js";
import { LaunchbayError } from "../errors.js";
import { Future } from "../futures/future.js";
import type { KeyState } from "../futures/key-state.js";
import { collectFutures } from "../futures/nested-futures.js";
import { parseOptions } from "../options.js";
import { tslabDisplay, type UpdatableDisplay } from "./notebook-display.js";
import { type ProgressCounts, progressHtml, progressLine } from "./render.js";

export interface TextSink {
  write(text: string): unknown;
}

export const ProgressOptions = z.strictObject({
  /** "auto" (default): the notebook display in a tslab kernel, else the terminal line. */
  output: z.enum(["auto", "notebook", "terminal", "none"]).optional(),
  /** Where the terminal line goes (default process.stdout). */
  stream: z
    .custom<TextSink>((v) => typeof (v as TextSink | null)?.write === "function", {
      message: "stream must have a write(text) method, like process.stdout",
    })
    .optional(),
  /** A display to update in place instead of tslab's (anything with html(s), e.g. tslab.newDisplay()). */
  display: z
    .custom<UpdatableDisplay>((v) => typeof (v as UpdatableDisplay | null)?.html === "function", {
      message: "display must have an html(s) method, like tslab.newDisplay()",
    })
    .optional(),
  /** Least milliseconds between redraws (default 100; the last state is always drawn). */
  intervalMs: z.number().int().min(0).max(60_000).optional(),
  /** Characters in the terminal bar (default 40). */
  width: z.number().int().min(5).max(200).optional(),
  /** Shown before the bar in a notebook (default "progress"). */
  label: z.string().max(200).optional(),
});
export type ProgressOptions = z.input<typeof ProgressOptions>;

export type ProgressSummary = ProgressCounts;

type Persistable = Bag<unknown> | Table;

/** The futures of `target` (at any depth of arrays, objects, Maps, Sets), each key once. */
function statesOf(target: unknown): KeyState[] {
  const futures = collectFutures(target);
  if (
    futures.length === 0 &&
    !(Array.isArray(target) || target instanceof Map || target instanceof Set)
  ) {
    throw new LaunchbayError(
      "invalid-option",
      "progress() takes futures (a future, or arrays, objects, Maps or Sets of them) or a Bag/Table: " +
        "progress(client.map(f, xs)), or progress(bag) to persist a collection with a progress bar",
    );
  }
  return [...new Set(futures.map((f) => Future.stateOf(f)))];
}

/**
 * Shows the progress of `futures` until every one is done (finished, erred, cancelled or
 * lost), then resolves to the final counts. It never rejects because a task failed:
 * failures are counted (and drawn red); read them with `result()`/`gather()`.
 */
export function progress(futures: unknown, options?: ProgressOptions): Promise<ProgressSummary>;
/** Persists a Bag or Table with a progress bar over its partitions: the persisted collection. */
export function progress<C extends Persistable>(
  collection: C,
  options?: ProgressOptions,
): Promise<C>;
export function progress(target: unknown, options?: ProgressOptions): Promise<unknown> {
  let parsed: z.output<typeof ProgressOptions>;
  try {
    parsed = parseOptions(ProgressOptions, options, "progress options");
  } catch (error) {
    return Promise.reject(error);
  }
  if (target instanceof Bag || target instanceof Table) {
    return (target as Bag<unknown>).persist({ progress: options ?? {} });
  }
  try {
    return trackStates(statesOf(target), drawer(parsed), parsed.intervalMs ?? 100);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** @internal Follows futures a collection just submitted (persist with `progress`). */
export function trackFutures(
  futures: readonly Future<unknown>[],
  options: ProgressOptions | true,
): Promise<ProgressSummary> {
  const parsed = parseOptions(ProgressOptions, options === true ? {} : options, "progress options");
  const states = [...new Set(futures.map((f) => Future.stateOf(f)))];
  return trackStates(states, drawer(parsed), parsed.intervalMs ?? 100);
}

function trackStates(
  states: readonly KeyState[],
  draw: (counts: ProgressCounts, final: boolean) => void,
  intervalMs: number,
): Promise<ProgressSummary> {
  const started = Date.now();
  const counts = (): ProgressCounts => {
    let finished = 0;
    let erred = 0;
    for (const state of states) {
      if (state.status === "finished") finished++;
      else if (state.status !== "pending") erred++;
    }
    return { total: states.length, finished, erred, elapsedMs: Date.now() - started };
  };
  return new Promise((resolve) => {
    let remaining = states.filter((s) => !s.done).length;
    let timer: NodeJS.Timeout | undefined;
    let lastDraw = 0;
    const redraw = () => {
      timer = undefined;
      lastDraw = Date.now();
      draw(counts(), false);
    };
    const onDone = () => {
      remaining--;
      if (remaining === 0) {
        clearTimeout(timer);
        const final = counts();
        draw(final, true);
        resolve(final);
        return;
      }
      if (timer !== undefined) return;
      const wait = Math.max(0, lastDraw + intervalMs - Date.now());
      timer = setTimeout(redraw, wait);
    };
    if (remaining === 0) {
      const final = counts();
      draw(final, true);
      resolve(final);
      return;
    }
    redraw();
    for (const state of states) if (!state.done) state.onDone(onDone);
  });
}

/** Picks where the bar goes: draw(counts, final). */
function drawer(
  options: z.output<typeof ProgressOptions>,
): (c: ProgressCounts, final: boolean) => void {
  const output = options.output ?? "auto";
  if (output === "none") return () => {};
  const display =
    options.display ?? (output === "auto" || output === "notebook" ? tslabDisplay() : undefined);
  if (display !== undefined && output !== "terminal") {
    const label = options.label ?? "progress";
    return (c) => display.html(progressHtml(c, label));
  }
  if (output === "notebook") {
    throw new LaunchbayError(
      "invalid-option",
      'progress output "notebook" needs a tslab kernel (or a display: progress(fs, { display: tslab.newDisplay() })); use output "terminal" elsewhere',
    );
  }
  const stream = options.stream ?? process.stdout;
  const width = options.width ?? 40;
  return (c, final) => {
    stream.write(`\r${progressLine(c, width)}${final ? "\n" : ""}`);
  };
}
