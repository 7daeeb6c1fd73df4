/**
 * Token-bucket rate limiting keyed by a string (an IP address or an attendee id).
 * Pure: time comes in as an argument.
 */
export interface RateLimitRule {
  /** Requests allowed in a burst. */
  burst: number;
  /** Tokens added back per minute. */
  perMinute: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly rule: RateLimitRule,
    private readonly maxKeys = 100_000,
  ) {}

  take(key: string, now: number): RateDecision {
    const perMs = this.rule.perMinute / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: this.rule.burst, updatedAt: now };
    bucket.tokens = Math.min(
      this.rule.burst,
      bucket.tokens + Math.max(0, now - bucket.updatedAt) * perMs,
    );
    bucket.updatedAt = now;
    if (!this.buckets.has(key)) {
      if (this.buckets.size >= this.maxKeys) this.evictFull(now);
      this.buckets.set(key, bucket);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    const retryAfterMs = perMs > 0 ? Math.ceil((1 - bucket.tokens) / perMs) : 60_000;
    return { allowed: false, retryAfterMs };
  }

  /** Forgets buckets that have refilled completely, so memory stays bounded. */
  private evictFull(now: number): void {
    const perMs = this.rule.perMinute / 60_000;
    for (const [key, b] of this.buckets) {
      if (b.tokens + (now - b.updatedAt) * perMs >= this.rule.burst) this.buckets.delete(key);
    }
    if (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
  }
}
