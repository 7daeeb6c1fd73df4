/**
 * Errors raised by the scheduler. Every code is stable and documented in
 * scheduler/README.md (a test checks that).
 */
export const SCHEDULER_ERROR_CODES = [
  "illegal-transition",
  "invariant-violated",
  "bad-flag",
  "unsafe-bind",
  "unsafe-origin",
  "listen-failed",
] as const;
export type SchedulerErrorCode = (typeof SCHEDULER_ERROR_CODES)[number];

export class SchedulerError extends Error {
  override name = "SchedulerError";
  constructor(
    readonly code: SchedulerErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A task was asked to move between two states the transition table does not allow. */
export class IllegalTransitionError extends SchedulerError {
  override name = "IllegalTransitionError";
  constructor(
    readonly key: string,
    readonly from: string,
    readonly to: string,
    /** The task's recent transitions: `[now, from, to, cause]`. */
    readonly story: readonly (readonly [number, string, string, string])[],
  ) {
    super(
      "illegal-transition",
      `task ${key} cannot go ${from}->${to}; this is a scheduler bug, please report it with this story:\n` +
        story.map(([now, f, t, cause]) => `  ${now}: ${f}->${t} (${cause})`).join("\n"),
    );
  }
}

/** `assertInvariants()` found inconsistent bookkeeping. */
export class InvariantError extends SchedulerError {
  override name = "InvariantError";
  constructor(message: string) {
    super("invariant-violated", `scheduler invariant violated: ${message}`);
  }
}
