import { describe, expect, it } from "vitest";
import { MemoryRateLimitStore, type RateCount } from "./rate-limit.js";

function incr(store: MemoryRateLimitStore, key: string, window: number, max: number): RateCount {
  let out: RateCount | undefined;
  store.incr(key, (_e, r) => (out = r), window, max);
  return out!;
}

describe("memory rate-limit store", () => {
  it("counts within a window, then starts over", () => {
    const clock = { now: 0 };
    const store = new MemoryRateLimitStore({}, () => clock.now);
    expect(incr(store, "k", 1000, 2)).toEqual({ current: 1, ttl: 1000 });
    expect(incr(store, "k", 1000, 2).current).toBe(2);
    clock.now = 400;
    expect(incr(store, "k", 1000, 2)).toEqual({ current: 3, ttl: 600 });
    expect(incr(store, "other", 1000, 2).current).toBe(1);
    clock.now = 1000;
    expect(incr(store, "k", 1000, 2)).toEqual({ current: 1, ttl: 1000 });
  });

  it("doubles the lock-out on every attempt past the limit with exponential backoff", () => {
    const clock = { now: 0 };
    const store = new MemoryRateLimitStore({ exponentialBackoff: true }, () => clock.now);
    incr(store, "k", 1000, 1);
    expect(incr(store, "k", 1000, 1).ttl).toBe(1000);
    expect(incr(store, "k", 1000, 1).ttl).toBe(2000);
    clock.now = 1500; // one window later: still locked out
    expect(incr(store, "k", 1000, 1)).toEqual({ current: 4, ttl: 4000 });
    clock.now = 5500;
    expect(incr(store, "k", 1000, 1).current).toBe(1);
  });

  it("reads without counting and bounds its memory", () => {
    const store = new MemoryRateLimitStore({}, () => 0, 2);
    incr(store, "a", 1000, 5);
    let read: RateCount | undefined;
    store.read("a", (_e, r) => (read = r));
    expect(read).toEqual({ current: 1, ttl: 1000 });
    incr(store, "b", 1000, 5);
    incr(store, "c", 1000, 5);
    expect(store.size).toBe(2);
  });
});
