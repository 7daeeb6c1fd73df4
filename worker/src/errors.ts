/**
 * The worker's errors. Every code is stable and documented in worker/README.md
 * (a test checks that), so scripts and people can rely on it. Failures of individual
 * tasks are not thrown: they go to the scheduler as `task-failed` with a
 * `RemoteErrorShape` (its `code` from the protocol's `TaskFailureCode` when the runtime
 * failed the task: `memory-limit`, `function-error`).
 */
export const WorkerErrorCode = [
  /** The options passed to `startWorker()` are invalid. */
  "bad-options",
  /** Listening beyond loopback without a token was refused. */
  "unsafe-bind",
  /** The data port could not be opened (e.g. the port is in use). */
  "listen-failed",
  /** The scheduler refused the token (HTTP 401) on the first connection. */
  "unauthorized",
  /** Task threads could not be started (e.g. the worker is not built). */
  "thread-exited",
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
