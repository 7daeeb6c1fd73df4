/**
 * The launcher's rate-limit store: an in-memory implementation of @fastify/rate-limit's
 * store interface (`incr`, `read`, `child`), with the time injected (tests move a clock)
 * and a real exponential backoff (the plugin's own LocalStore only reports a doubled
 * Retry-After but lets the next attempt through one window later).
 *
 * It lives in one process: with several launcher replicas each counts on its own. A store
 * shared between replicas (e.g. the plugin's RedisStore, or any class with the same three
 * methods) is passed to `buildApp({ rateLimitStore })` instead.
 */

export interface RateLimitStoreOptions {
  continueExceeding?: boolean;
  exponentialBackoff?: boolean;
}

export interface RateCount {
  current: number;
  ttl: number;
}

type Callback = (error: Error | null, result?: RateCount) => void;

interface Entry {
  current: number;
  windowStart: number;
  /** The window (or lock-out, with backoff) ends at this time. */
  resetAt: number;
}

export interface RateLimitStore {
  incr(key: string, callback: Callback, timeWindow: number, max: number): void;
  read(key: string, callback: Callback, timeWindow: number, max: number): void;
  child(options: RateLimitStoreOptions): RateLimitStore;
}

export class MemoryRateLimitStore implements RateLimitStore {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly options: RateLimitStoreOptions,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  incr(key: string, callback: Callback, timeWindow: number, max: number): void {
    const now = this.now();
    let entry = this.entries.get(key);
    if (!entry || entry.resetAt <= now) {
      entry = { current: 1, windowStart: now, resetAt: now + timeWindow };
      this.remember(key, entry, now);
    } else {
      entry.current += 1;
      if (entry.current > max && this.options.exponentialBackoff) {
        // Each attempt past the limit doubles the lock-out, counted from now.
        const exponent = Math.min(entry.current - max - 1, 40);
        entry.resetAt = now + timeWindow * 2 ** exponent;
      } else if (entry.current > max && this.options.continueExceeding) {
        entry.resetAt = now + timeWindow;
      }
    }
    callback(null, { current: entry.current, ttl: entry.resetAt - now });
  }

  read(key: string, callback: Callback): void {
    const now = this.now();
    const entry = this.entries.get(key);
    if (!entry || entry.resetAt <= now) {
      callback(null, { current: 0, ttl: 0 });
      return;
    }
    callback(null, { current: entry.current, ttl: entry.resetAt - now });
  }

  child(options: RateLimitStoreOptions): RateLimitStore {
    return new MemoryRateLimitStore(
      {
        continueExceeding: options.continueExceeding,
        exponentialBackoff: options.exponentialBackoff,
      },
      this.now,
      this.maxKeys,
    );
  }

  /** Bounded memory: expired entries go first, then the oldest. */
  private remember(key: string, entry: Entry, now: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxKeys) {
      for (const [k, e] of this.entries) if (e.resetAt <= now) this.entries.delete(k);
      if (this.entries.size >= this.maxKeys) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
    }
    this.entries.set(key, entry);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** A store class the plugin can construct (`new Store(options)`), bound to a clock. */
export function memoryRateLimitStore(
  now: () => number = Date.now,
): new (
  options: RateLimitStoreOptions,
) => MemoryRateLimitStore {
  return class extends MemoryRateLimitStore {
    constructor(options: RateLimitStoreOptions) {
      super(options, now);
    }
  };
}
