import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { FreeVariableError, type LaunchbayError } from "../errors.js";
import { shipFunction } from "./shipped-function.js";
import { withHelpers } from "./with-helpers.js";

/** Runs a shipped function's source in a fresh context, as a worker evaluates it. */
function onWorker(fn: (...args: never[]) => unknown): (...args: unknown[]) => unknown {
  const source = shipFunction(fn).definition.source!;
  return runInNewContext(`(${source})`) as (...args: unknown[]) => unknown;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as LaunchbayError).code;
  }
  return undefined;
}

const SCALE = 2.5;
function square(x: number): number {
  return x * x;
}
function scaledSquare(x: number): number {
  return square(x) * SCALE;
}

describe("helpers that travel (uses)", () => {
  it("ships helper functions (which use each other) and plain-data constants with the function", async () => {
    expect(() => shipFunction((x: number) => scaledSquare(x))).toThrow(FreeVariableError);
    const task = withHelpers((x: number) => scaledSquare(x) + OFFSET.value, {
      scaledSquare,
      square,
      SCALE,
      OFFSET: { value: 1, tags: ["a", null, -0, 2n, Number.NaN, Number.POSITIVE_INFINITY] },
    });
    expect(onWorker(task)(4)).toBe(41);
    const async = withHelpers(async (x: number) => square(x), { square });
    expect(await onWorker(async)(3)).toBe(9);
  });

  it("keeps the function's name for task keys and composes the same function once", () => {
    function fitOne(x: number) {
      return square(x);
    }
    const a = withHelpers(fitOne, { square });
    expect(a.name).toBe("fitOne");
    expect(withHelpers(fitOne, { square })).toBe(a);
    expect(shipFunction(a).keyPrefix).toBe("fitOne");
  });

  it("names a helper's own free variable that is not listed", () => {
    try {
      shipFunction(withHelpers((x: number) => scaledSquare(x), { scaledSquare }));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(FreeVariableError);
      expect((error as FreeVariableError).variables.sort()).toEqual(["SCALE", "square"]);
      expect((error as Error).message).toContain("list helpers in uses");
    }
  });

  it("refuses helpers it cannot ship, saying what to do", () => {
    expect(codeOf(() => withHelpers(() => 1, { "not-a-name": 1 }))).toBe("invalid-option");
    expect(codeOf(() => withHelpers(() => 1, { m: new Map() }))).toBe("invalid-option");
    expect(() => withHelpers(() => 1, { m: new Map() })).toThrow(
      /holds a Map; uses takes functions and plain data/,
    );
    expect(() => withHelpers(() => 1, { big: "x".repeat(300_000) })).toThrow(/scatter it once/);
    expect(codeOf(() => withHelpers(() => 1, { f: Math.max }))).toBe("unsupported-function");
  });
});

declare const OFFSET: { value: number };
