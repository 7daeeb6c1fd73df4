/**
 * The worker's errors. Every code is stable and documented in worker/README.md
 * (a test checks that), so scripts and people can rely on it.
 */
export const WorkerErrorCode = [
  /** A command-line flag or environment variable has a bad value. */
  "bad-flag",
  /** The options passed to `startWorker()` are invalid. */
  "bad-options",
  /** Listening beyond loopback without a token was refused. */
  "unsafe-bind",
  /** The data port could not be opened (e.g. the port is in use). */
  "listen-failed",
  /** The scheduler refused the token (HTTP 401) on the first connection. */
  "unauthorized",
  /** Storing a result or dependency would exceed --memory-limit. */
  "memory-limit",
  /** A shipped function or module could not be loaded in a task thread. */
  "function-error",
  /** A task ended its thread (process.exit(), an uncaught error in a callback, out of memory). */
  "thread-exited",
  /** A dependency could not be fetched from any worker the scheduler named. */
  "missing-data",
  /** The worker was closed while an operation was in progress. */
  "closed",
] as const;
export type WorkerErrorCode = (typeof WorkerErrorCode)[number];

export class WorkerError extends Error {
  override name = "WorkerError";
  constructor(
    readonly code: WorkerErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
