import { describe, expect, it } from "vitest";
import { LaunchStats, quantile } from "./launch-stats.js";

describe("launch statistics", () => {
  it("assumes the default before any launch finished, then 1.5× the median", () => {
    const stats = new LaunchStats(30_000);
    expect(stats.typicalMs()).toBe(30_000);
    for (const ms of [4000, 6000, 8000]) stats.record(ms);
    expect(stats.typicalMs()).toBe(9000);
  });

  it("buckets durations for the admin histogram", () => {
    const stats = new LaunchStats(1);
    for (const ms of [500, 1500, 1900, 400_000]) stats.record(ms);
    const h = stats.histogram();
    expect(h[0]).toMatchObject({ le: 1, count: 1 });
    expect(h[1]).toMatchObject({ le: 2, count: 2 });
    expect(h[h.length - 1]).toMatchObject({ le: null, count: 1 });
  });

  it("interpolates quantiles", () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10], 0.99)).toBe(10);
  });

  it("reads shared durations from its source on every question, ignoring record", () => {
    let shared = [1000, 3000];
    const stats = new LaunchStats(7, undefined, () => shared);
    stats.record(999_999);
    expect(stats.count).toBe(2);
    expect(stats.quantileMs(0.5)).toBe(2000);
    shared = [];
    expect(stats.typicalMs()).toBe(7);
  });
});
