import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.js";

describe("backoffDelay", () => {
  const options = { initialMs: 100, maxMs: 1000 };
  it("doubles per attempt between half and all of the ceiling", () => {
    expect(backoffDelay(0, 0, options)).toBe(50);
    expect(backoffDelay(0, 0.999, options)).toBe(100);
    expect(backoffDelay(2, 0, options)).toBe(200);
    expect(backoffDelay(2, 0.999, options)).toBe(400);
  });
  it("never exceeds the maximum, however many attempts", () => {
    expect(backoffDelay(50, 0.999, options)).toBe(1000);
    expect(backoffDelay(10_000, 0.5, options)).toBe(750);
  });
});
