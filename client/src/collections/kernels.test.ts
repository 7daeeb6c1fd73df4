import { describe, expect, it } from "vitest";
import { lbCompare, lbKeyHash, lbKeyId, lbSettle } from "./kernels.js";

describe("task kernels", () => {
  it("orders values of one kind, with missing values last in both directions", () => {
    const values = [3, null, 1, undefined, Number.NaN, 2n, -0.5];
    const ascending = [...values].sort((a, b) => lbCompare(a, b));
    expect(ascending.slice(0, 4)).toEqual([-0.5, 1, 2n, 3]);
    expect(ascending.slice(4).every((v) => v === null || v === undefined || Number.isNaN(v))).toBe(
      true,
    );
    expect(["b", "a", "B"].sort((a, b) => lbCompare(a, b))).toEqual(["B", "a", "b"]);
    expect([true, false].sort((a, b) => lbCompare(a, b))).toEqual([false, true]);
    const descending = [3, null, 1, 2].sort((a, b) => lbCompare(a, b, true));
    expect(descending).toEqual([3, 2, 1, null]);
  });

  it("hashes keys the same way every time, telling types apart", () => {
    expect(lbKeyHash("abc")).toBe(lbKeyHash("abc"));
    expect(lbKeyHash(1)).not.toBe(lbKeyHash("1"));
    expect(lbKeyHash(lbKeyId([1, "a"]))).toBe(lbKeyHash(lbKeyId([1, "a"])));
    expect(lbKeyHash(lbKeyId([1, "a"]))).not.toBe(lbKeyHash(lbKeyId(["1", "a"])));
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
