import { isTerminal, type TerminalError } from "./errors.js";

/** Timers, injectable so tests drive time themselves. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface WorkQueueOptions {
  /** Keys processed at once (never the same key twice at once). */
  concurrency: number;
  /** First retry delay after a failure; doubles per consecutive failure. */
  baseRetryMs: number;
  maxRetryMs: number;
  timers?: Timers;
}

export type Handler = (key: string) => Promise<{ requeueAfterMs?: number } | undefined>;

/**
 * A keyed work queue like client-go's: a key waiting is queued once however often it is
 * added; a key being processed is re-queued after it finishes if it was added meanwhile;
 * failures retry with per-key exponential backoff, except a TerminalError, which is
 * reported (onTerminal) and not retried until the key is added again; a handler can ask
 * to be called again after a delay (the earliest requested time wins).
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; handle: unknown }>();
  private readonly timers: Timers;
  private handler: Handler | undefined;
  private active = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  readonly onError: ((key: string, error: unknown, retryInMs: number) => void)[] = [];
  /** Called when a handler throws a TerminalError: the key is not retried. */
  readonly onTerminal: ((key: string, error: TerminalError) => void)[] = [];

  constructor(
    private readonly options: WorkQueueOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.timers = options.timers ?? realTimers;
  }

  /** Starts calling handler for queued keys. */
  start(handler: Handler): void {
    this.handler = handler;
    this.pump();
  }

  /** Queues key now (a pending delayed add is superseded). */
  add(key: string): void {
    if (this.stopped) return;
    this.cancelDelayed(key);
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Queues key after ms, unless it is already due earlier. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) this.timers.clearTimeout(existing.handle);
    const handle = this.timers.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, handle });
  }

  /** Forgets a key's failure count (after a success or when the object is gone). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  get length(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.active;
  }

  /** Resolves when nothing is queued or processing (delayed adds do not count). */
  whenIdle(): Promise<void> {
    if (this.queue.length === 0 && this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking work, drops delayed adds, and waits for handlers in flight. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    this.queued.clear();
    for (const { handle } of this.delayed.values()) this.timers.clearTimeout(handle);
    this.delayed.clear();
    await this.whenIdle();
  }

  private cancelDelayed(key: string) {
    const existing = this.delayed.get(key);
    if (existing) {
      this.timers.clearTimeout(existing.handle);
      this.delayed.delete(key);
    }
  }

  private pump() {
    const handler = this.handler;
    if (!handler) return;
    while (!this.stopped && this.active < this.options.concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.queued.delete(key);
      this.processing.add(key);
      this.active += 1;
      void this.run(handler, key);
    }
    if (this.queue.length === 0 && this.active === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async run(handler: Handler, key: string) {
    try {
      const result = await handler(key);
      this.failures.delete(key);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    } catch (error) {
      if (isTerminal(error)) {
        this.failures.delete(key);
        for (const cb of this.onTerminal) cb(key, error);
        return;
      }
      const count = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, count);
      const delay = Math.min(this.options.maxRetryMs, this.options.baseRetryMs * 2 ** (count - 1));
      for (const cb of this.onError) cb(key, error, delay);
      this.addAfter(key, delay);
    } finally {
      this.processing.delete(key);
      this.active -= 1;
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
