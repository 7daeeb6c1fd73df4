import { describe, expect, it } from "vitest";
import { lbCompare, lbKeyHash, lbKeyId, lbSettle } from "./kernels.js";

describe("task kernels", () => {
  it("orders numbers, strings and booleans, with missing values last in both directions", () => {
    const values = [3, null, "b", 1, undefined, Number.NaN, "a", true, false, 2n];
    const ascending = [...values].sort((a, b) => lbCompare(a, b));
    expect(ascending.slice(0, 7)).toEqual([false, true, 1, 2n, 3, "a", "b"]);
    expect(ascending.slice(7).every((v) => v === null || v === undefined || Number.isNaN(v))).toBe(
      true,
    );
    const descending = [3, null, 1, 2].sort((a, b) => lbCompare(a, b, true));
    expect(descending).toEqual([3, 2, 1, null]);
  });

  it("hashes keys the same way every time, telling types apart", () => {
    expect(lbKeyHash("abc")).toBe(lbKeyHash("abc"));
    expect(lbKeyHash(1)).not.toBe(lbKeyHash("1"));
    expect(lbKeyHash([1, "a"])).toBe(lbKeyHash([1, "a"]));
    const buckets = new Array(8).fill(0);
    for (let i = 0; i < 8_000; i++) buckets[lbKeyHash(`key-${i}`) % 8]++;
    for (const count of buckets) expect(count).toBeGreaterThan(800);
  });

  it("gives equal JSON-like keys the same identity and keeps primitives as they are", () => {
    expect(lbKeyId([1, "a"])).toBe(lbKeyId([1, "a"]));
    expect(lbKeyId({ a: 1 })).not.toBe(lbKeyId({ a: 2 }));
    expect(lbKeyId("x")).toBe("x");
    expect(lbKeyId(5)).toBe(5);
  });

  it("awaits results only when some are promises", async () => {
    const plain = [1, 2];
    expect(lbSettle(plain)).toBe(plain);
    expect(await lbSettle([1, Promise.resolve(2)])).toEqual([1, 2]);
  });
});
