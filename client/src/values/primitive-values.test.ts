import { deserialize, serialize } from "node:v8";
import { describe, expect, it } from "vitest";
import { decodeValue, encodePrimitiveArgs } from "./primitive-values.js";

const SAMPLES: unknown[] = [
  0,
  1,
  -1,
  63,
  64,
  -64,
  -65,
  1000,
  2 ** 30 - 1,
  -(2 ** 30),
  2 ** 30,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 53,
  1.5,
  -0,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.MIN_VALUE,
  "",
  "a",
  "héllo",
  "x".repeat(300),
  "ÿ",
  true,
  false,
  null,
  undefined,
];

describe("primitive argument fast path", () => {
  it("writes the same bytes as node:v8 for small ints, doubles, one-byte strings and constants", () => {
    for (const value of SAMPLES) {
      if (typeof value === "number" && Number.isInteger(value) && Math.abs(value) >= 2 ** 30)
        continue;
      const args = [value, 7, "k"];
      expect(Buffer.from(encodePrimitiveArgs(args)!).toString("hex"), String(value)).toBe(
        serialize(args).toString("hex"),
      );
    }
  });

  it("round-trips every primitive through node:v8's deserialiser", () => {
    for (const value of SAMPLES)
      expect(deserialize(encodePrimitiveArgs([value])!)).toEqual([value]);
    expect(deserialize(encodePrimitiveArgs([])!)).toEqual([]);
    expect(Object.is((deserialize(encodePrimitiveArgs([-0])!) as number[])[0], -0)).toBe(true);
  });

  it("declines objects, two-byte strings and long strings so node:v8 handles them", () => {
    expect(encodePrimitiveArgs([{}])).toBeUndefined();
    expect(encodePrimitiveArgs([[1]])).toBeUndefined();
    expect(encodePrimitiveArgs([1n])).toBeUndefined();
    expect(encodePrimitiveArgs(["€"])).toBeUndefined();
    expect(encodePrimitiveArgs(["x".repeat(5000)])).toBeUndefined();
  });

  it("never hands out overlapping buffers", () => {
    const a = encodePrimitiveArgs(["a".repeat(1000)])!;
    const copies = Array.from(
      { length: 200 },
      (_, i) => encodePrimitiveArgs([i, "b".repeat(500)])!,
    );
    expect(deserialize(a)).toEqual(["a".repeat(1000)]);
    for (const [i, bytes] of copies.entries())
      expect(deserialize(bytes)).toEqual([i, "b".repeat(500)]);
  });
});

describe("decodeValue", () => {
  it("reads what node:v8 wrote, for primitives and everything else", () => {
    const values = [
      ...SAMPLES,
      "€uro",
      "日本語",
      { a: 1 },
      [1, "x"],
      new Map([[1, 2]]),
      new Uint8Array([1, 2]),
      10n,
    ];
    for (const value of values) {
      const decoded = decodeValue(serialize(value));
      if (typeof value === "number" && Number.isNaN(value))
        expect(Number.isNaN(decoded)).toBe(true);
      else expect(decoded, String(value)).toEqual(value);
    }
    expect(Object.is(decodeValue(serialize(-0)), -0)).toBe(true);
  });

  it("reads values inside a larger buffer (a frame's subarray)", () => {
    const bytes = serialize(12345);
    const frame = Buffer.concat([Buffer.from([9, 9, 9]), bytes, Buffer.from([9])]);
    expect(decodeValue(frame.subarray(3, 3 + bytes.byteLength))).toBe(12345);
  });
});
