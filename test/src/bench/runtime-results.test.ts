import { describe, expect, it } from "vitest";
import { medianFigures, type RuntimeFigures } from "./runtime-results.js";

const figures = (n: number, transfer?: number): RuntimeFigures => ({
  throughputTasksPerS: n * 1000,
  roundTripP50Ms: n,
  roundTripP99Ms: n * 2,
  chainS: n / 10,
  transferGBPerS: transfer,
  schedulerRssDeltaMiB: n * 100,
});

describe("medianFigures (alternating bench rounds)", () => {
  it("takes each figure's median, not one round's figures", () => {
    const m = medianFigures([figures(3, 1), figures(1, 3), figures(2, 2)]);
    expect(m).toEqual(figures(2, 2));
  });

  it("averages the middle two of an even count and skips rounds that did not measure a figure", () => {
    const m = medianFigures([figures(1), figures(4, 0.5), figures(2, 1.5), figures(3)]);
    expect(m.roundTripP50Ms).toBe(2.5);
    expect(m.transferGBPerS).toBe(1);
    expect(medianFigures([figures(1)]).transferGBPerS).toBeUndefined();
  });
});
