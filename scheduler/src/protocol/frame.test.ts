import { describe, expect, it } from "vitest";
import { BLOB_THRESHOLD, decodeFrame, encodeFrame } from "./frame.js";

const join = (chunks: Buffer[]) => Buffer.concat(chunks);

describe("frames", () => {
  it("round-trips a batch of small messages in one chunk", () => {
    const batch = [{ type: "a", n: 1, bytes: new Uint8Array([1, 2, 3]) }, { type: "b", nested: [{ x: "y" }] }];
    const chunks = encodeFrame(batch);
    expect(chunks).toHaveLength(1);
    const decoded = decodeFrame(join(chunks));
    expect(decoded.ok && decoded.messages).toEqual(batch);
  });

  it("lifts large byte arrays into separate chunks and restores them", () => {
    const big = new Uint8Array(BLOB_THRESHOLD * 2).fill(7);
    const batch = [{ type: "data", items: [{ key: "k", data: big }, { key: "small", data: new Uint8Array(3) }] }];
    const chunks = encodeFrame(batch);
    expect(chunks).toHaveLength(2);
    expect(chunks[1]!.byteLength).toBe(big.byteLength);
    const decoded = decodeFrame(join(chunks));
    if (!decoded.ok) throw new Error(decoded.error);
    const [message] = decoded.messages as [{ items: { data: Uint8Array }[] }];
    expect(Buffer.from(message.items[0]!.data).equals(Buffer.from(big))).toBe(true);
    expect(message.items[1]!.data.byteLength).toBe(3);
    // the caller's message is untouched
    expect(batch[0]!.items[0]!.data).toBe(big);
  });

  it("rejects garbage, truncation and trailing bytes with a reason", () => {
    expect(decodeFrame(Buffer.from("hi"))).toEqual({ ok: false, error: expect.stringContaining("too short") });
    expect(decodeFrame(Buffer.from([9, 0, 0, 0, 0, 0]))).toEqual({
      ok: false,
      error: expect.stringContaining("format 9"),
    });
    const good = join(encodeFrame([{ type: "a" }]));
    expect(decodeFrame(good.subarray(0, good.length - 1)).ok).toBe(false);
    expect(decodeFrame(Buffer.concat([good, Buffer.from([0])]))).toEqual({
      ok: false,
      error: "frame has trailing bytes",
    });
    const junkHeader = Buffer.from([1, 3, 0, 0, 0, 0xff, 0xff, 0xff]);
    expect(decodeFrame(junkHeader).ok).toBe(false);
  });
});
