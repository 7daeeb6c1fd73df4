/** Options of `startScheduler()`, validated with zod (the CLI maps flags onto these). */
import type { Logger } from "pino";
import { z } from "zod";
import { parseOrigin } from "@launchbay/protocol";
import { DEFAULT_MAX_CODE_BYTES } from "../state/code-store.js";

const Origin = z.string().transform((value, ctx) => {
  const parsed = parseOrigin(value);
  if (parsed.ok) return parsed.origin;
  ctx.addIssue({ code: "custom", message: `${parsed.error}, got ${JSON.stringify(value)}` });
  return z.NEVER;
});

export const SchedulerOptions = z.object({
  host: z.string().min(1, "host must not be empty").default("127.0.0.1"),
  port: z
    .number()
    .int()
    .min(0)
    .max(65535, "port must be 0-65535 (0 = any free port)")
    .default(8786),
  token: z.string().optional(),
  /** Browser origins allowed to open WebSockets (needs a token); others are refused (403). */
  allowedOrigins: z.array(Origin).max(100).default([]),
  /** Bytes of shipped functions and modules the scheduler holds at most; more is refused (`code-budget`). */
  maxCodeBytes: z
    .number()
    .int()
    .min(1024, "maxCodeBytes must be at least 1 KiB")
    .max(2 ** 46)
    .default(DEFAULT_MAX_CODE_BYTES),
  allowedFailures: z.number().int().min(0).max(1000).default(3),
  heartbeatIntervalMs: z.number().int().min(10).max(600_000).default(1000),
  /** Results up to this many bytes ride along with `task-finished` and `key-in-memory`. */
  inlineLimit: z
    .number()
    .int()
    .min(0)
    .max(64 * 1024 * 1024)
    .default(64 * 1024),
  /** How long a new connection may take to send its hello. */
  helloTimeoutMs: z.number().int().positive().default(10_000),
});
export type SchedulerOptionsInput = z.input<typeof SchedulerOptions> & {
  logger?: Logger;
  /**
   * Called once if the state machine throws (a scheduler bug). By then the scheduler has
   * logged the error at fatal level, cut every connection and stopped listening: its state
   * can no longer be trusted. The CLI exits with status 70 so its supervisor restarts it.
   */
  onFatal?: (error: Error) => void;
  /** Test-only fault injection; the CLI sets it only outside production (see cli.ts). */
  testHooks?: SchedulerTestHooks;
};

export interface SchedulerTestHooks {
  /** The state machine throws after handling `client-joined` for a client of this name. */
  failOnClientName?: string;
}
export type ResolvedSchedulerOptions = z.output<typeof SchedulerOptions>;

/** A worker silent for this many heartbeat intervals counts as lost. */
export const MISSED_HEARTBEATS = 5;
