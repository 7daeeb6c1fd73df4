/** Options of `Client.connect`, `submitWith`, `map`, `scatter`, `result` and `delayed`, validated with zod. */
import { z } from "zod";
import { invalidOption } from "./errors.js";

const ResourcesOption = z.record(z.string().min(1).max(63), z.number().nonnegative().finite());
const WorkerNames = z.union([
  z.string().min(1).max(253),
  z.array(z.string().min(1).max(253)).min(1).max(1000),
]);

const TaskOptionsShape = {
  /** Re-run the task this many times if it throws (or its worker dies). */
  retries: z.number().int().min(0).max(100).optional(),
  /** Higher runs first among queued tasks. */
  priority: z.number().finite().optional(),
  /** Deterministic key: identical (function, arguments) share one task. Default false. */
  pure: z.boolean().optional(),
  /** Resources the task holds on its worker while it runs, e.g. `{ memoryMiB: 512 }`. */
  resources: ResourcesOption.optional(),
  /** Run only on the worker(s) with these names. */
  workers: WorkerNames.optional(),
  /** With `workers`: prefer them, but allow others. */
  allowOtherWorkers: z.boolean().optional(),
  /** Helpers that travel with the function: `{ fit, sleep, SCALE }` (functions and plain data). */
  uses: z
    .custom<Record<string, unknown>>(
      (v) => v !== null && typeof v === "object" && !Array.isArray(v),
      { message: "uses must be an object of helpers, e.g. { uses: { fit, SCALE } }" },
    )
    .optional(),
};

export const SubmitOptions = z.strictObject({
  ...TaskOptionsShape,
  /** An explicit key for the task (a second submit with the same key returns the same future). */
  key: z.string().min(1).max(1024).optional(),
});
export type SubmitOptions = z.input<typeof SubmitOptions>;

/** Options of `delayed(client, fn, options)`: those of submit, but no key (one per call). */
export const DelayedOptions = z.strictObject(TaskOptionsShape);
export type DelayedOptions = z.input<typeof DelayedOptions>;

export const MapOptions = z.strictObject({
  ...TaskOptionsShape,
  /** One explicit key per item. */
  keys: z.array(z.string().min(1).max(1024)).optional(),
});
export type MapOptions = z.input<typeof MapOptions>;

export const ScatterOptions = z.strictObject({
  /** Keys from the content (sha256) so scattering the same value twice shares it. Default true. */
  hash: z.boolean().optional(),
  /** Copy to every worker instead of one. */
  broadcast: z.boolean().optional(),
  /** Store only on these workers. */
  workers: WorkerNames.optional(),
});
export type ScatterOptions = z.input<typeof ScatterOptions>;

export const ResultOptions = z.strictObject({
  /** Reject with a TimeoutError (code `timeout`) if the value is not there after this long. */
  timeoutMs: z.number().int().positive().max(2_147_483_647).optional(),
});
export type ResultOptions = z.input<typeof ResultOptions>;

export const RestartOptions = z.strictObject({
  /** Reject with a TimeoutError if the workers are not all back after this long (default 60 s). */
  timeoutMs: z.number().int().positive().max(2_147_483_647).optional(),
});
export type RestartOptions = z.input<typeof RestartOptions>;

export const ConnectOptions = z.strictObject({
  token: z.string().optional(),
  /** Shown on the scheduler's dashboard. */
  name: z.string().min(1).max(253).optional(),
  timeoutMs: z.number().int().positive().max(600_000).optional(),
  /**
   * Show the dashboard's link once connected: a link in a notebook, the URL on a terminal
   * (default true; nothing is printed when stdout is not a terminal).
   */
  showDashboard: z.boolean().optional(),
});
export type ConnectOptions = z.input<typeof ConnectOptions>;

/** Parses options or throws an `invalid-option` error naming the field and the problem. */
export function parseOptions<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  throw invalidOption(`invalid ${what}: ${z.prettifyError(parsed.error)}`);
}

export function workerList(workers: string | string[] | undefined): string[] | undefined {
  return workers === undefined ? undefined : typeof workers === "string" ? [workers] : workers;
}
