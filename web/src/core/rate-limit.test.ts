import { describe, expect, it } from "vitest";
import { RateLimiter } from "./rate-limit.js";

describe("rate limiter", () => {
  it("allows a burst, then refuses with a retry time, then refills", () => {
    const limiter = new RateLimiter({ burst: 2, perMinute: 60 });
    expect(limiter.take("k", 0).allowed).toBe(true);
    expect(limiter.take("k", 0).allowed).toBe(true);
    const refused = limiter.take("k", 0);
    expect(refused).toEqual({ allowed: false, retryAfterMs: 1000 });
    expect(limiter.take("k", 1000).allowed).toBe(true);
  });

  it("keeps separate buckets per key and bounds its memory", () => {
    const limiter = new RateLimiter({ burst: 1, perMinute: 1 }, 2);
    expect(limiter.take("a", 0).allowed).toBe(true);
    expect(limiter.take("b", 0).allowed).toBe(true);
    expect(limiter.take("a", 0).allowed).toBe(false);
    expect(limiter.take("c", 0).allowed).toBe(true);
  });
});
