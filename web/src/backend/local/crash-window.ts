/** When a sandbox gives up restarting a process: `maxCrashes` within `windowMs`. */
export interface RestartPolicy {
  maxCrashes: number;
  windowMs: number;
  /** First restart delay; doubles with every crash still in the window, up to `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  maxCrashes: 5,
  windowMs: 60_000,
  initialDelayMs: 100,
  maxDelayMs: 5_000,
};

export type CrashDecision =
  | { restart: true; delayMs: number }
  | { restart: false; crashes: number };

/**
 * The crash history of one supervised process. Pure: time comes in on each call.
 * Restart with exponential backoff while fewer than `maxCrashes` fell within the last
 * `windowMs`; at `maxCrashes`, give up.
 */
export class CrashWindow {
  private readonly times: number[] = [];

  constructor(private readonly policy: RestartPolicy = DEFAULT_RESTART_POLICY) {}

  crashed(now: number): CrashDecision {
    this.times.push(now);
    while (this.times.length > 0 && this.times[0]! <= now - this.policy.windowMs)
      this.times.shift();
    const crashes = this.times.length;
    if (crashes >= this.policy.maxCrashes) return { restart: false, crashes };
    const delayMs = Math.min(
      this.policy.maxDelayMs,
      this.policy.initialDelayMs * 2 ** Math.max(0, crashes - 1),
    );
    return { restart: true, delayMs };
  }
}
