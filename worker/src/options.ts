/** Options of `startWorker()`, validated with zod; the CLI maps flags and env vars onto them. */
import { availableParallelism, hostname, totalmem } from "node:os";
import { Resources } from "@launchbay/protocol";
import type { Logger } from "pino";
import { z } from "zod";
import { availableMemory } from "./byte-sizes.js";
import { LOG_LEVELS } from "./logger.js";

/** Fraction of the machine's (or container's) memory a worker may hold by default. */
export const DEFAULT_MEMORY_FRACTION = 0.8;

export const SchedulerUrl = z
  .string()
  .regex(
    /^wss?:\/\/[^/\s]+\/?$/,
    "must look like ws://host:port (the address the scheduler printed)",
  );

export const WorkerName = z
  .string()
  .min(1)
  .max(253)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    "use letters, digits, '.', '_' and '-', starting with a letter or digit",
  );

export const WorkerOptions = z.object({
  /** The scheduler's address, `ws://host:port`. */
  scheduler: SchedulerUrl,
  token: z.string().min(1).optional(),
  nthreads: z.number().int().positive().max(1024).optional(),
  /** Bytes of results (and fetched dependencies) this worker may hold. */
  memoryLimit: z.number().int().positive().optional(),
  name: WorkerName.optional(),
  /** Where the data port listens. */
  host: z.string().min(1).default("127.0.0.1"),
  port: z.number().int().min(0).max(65535).default(0),
  /** The host peers use to reach the data port (default: `host`, or the hostname for 0.0.0.0 / ::). */
  advertiseHost: z.string().min(1).optional(),
  resources: Resources.default({}),
  logLevel: z.enum(LOG_LEVELS).default("info"),
  logger: z.custom<Logger>((v) => typeof v === "object" && v !== null).optional(),
  /** Redial delays after losing the scheduler. */
  reconnect: z
    .object({ initialMs: z.number().positive(), maxMs: z.number().positive() })
    .optional(),
  /** Aborting stops the worker (also while it is still trying to reach the scheduler). */
  signal: z.instanceof(AbortSignal).optional(),
});
export type WorkerOptions = z.input<typeof WorkerOptions>;

export interface ResolvedWorkerOptions extends z.output<typeof WorkerOptions> {
  nthreads: number;
  memoryLimit: number;
  name: string;
  advertiseHost: string;
}

export function defaultMemoryLimit(): number {
  return Math.floor(
    availableMemory(totalmem(), process.constrainedMemory?.()) * DEFAULT_MEMORY_FRACTION,
  );
}

export function defaultAdvertiseHost(host: string): string {
  return host === "0.0.0.0" || host === "::" || host === "[::]" ? hostname() : host;
}

export function resolveDefaults(options: z.output<typeof WorkerOptions>): ResolvedWorkerOptions {
  return {
    ...options,
    nthreads: options.nthreads ?? availableParallelism(),
    memoryLimit: options.memoryLimit ?? defaultMemoryLimit(),
    name: options.name ?? `${hostname()}-${process.pid}`,
    advertiseHost: options.advertiseHost ?? defaultAdvertiseHost(options.host),
  };
}

/** `ws://host:port`, bracketing IPv6 literals. */
export function wsAddress(host: string, port: number): string {
  const bare = host.replace(/^\[|\]$/g, "");
  return `ws://${bare.includes(":") ? `[${bare}]` : bare}:${port}`;
}
