import { describe, expect, it } from "vitest";
import { decodeArgs, encodeArgs, serializeValue, ValueEncodingError } from "./values.js";

class FakeFuture {
  constructor(readonly key: string) {}
}
const keyOf = (v: object) => (v instanceof FakeFuture ? v.key : undefined);

describe("task values", () => {
  it("replaces futures at any depth and lists each dependency once", () => {
    const f = new FakeFuture("f-1");
    const g = new FakeFuture("g-2");
    const { bytes, deps } = encodeArgs([f, [1, g, { a: f, b: [g] }], new Map([["m", 1]])], keyOf);
    expect(deps.sort()).toEqual(["f-1", "g-2"]);
    const values: Record<string, unknown> = { "f-1": 10, "g-2": "twenty" };
    const args = decodeArgs(bytes, (k) => values[k]);
    expect(args).toEqual([10, [1, "twenty", { a: 10, b: ["twenty"] }], new Map([["m", 1]])]);
  });

  it("keeps typed arrays, dates and bigints intact", () => {
    const args = decodeArgs(
      encodeArgs([new Float64Array([1.5]), new Date(0), 2n ** 70n], keyOf).bytes,
      () => 0,
    );
    expect(args[0]).toBeInstanceOf(Float64Array);
    expect(args[1]).toEqual(new Date(0));
    expect(args[2]).toBe(2n ** 70n);
  });

  it("explains why a function cannot be sent as a value", () => {
    expect(() => serializeValue({ f: () => 1 }, "argument 1")).toThrow(ValueEncodingError);
    expect(() => serializeValue({ f: () => 1 }, "argument 1")).toThrow(
      /argument 1 cannot be sent to a worker/,
    );
  });
});
