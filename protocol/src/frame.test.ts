import { describe, expect, it } from "vitest";
import { BLOB_THRESHOLD, decodeFrame, encodeFrame, FrameReader } from "./frame.js";

describe("frames", () => {
  it("round-trips a batch of small messages in one message", () => {
    const batch = [
      { type: "a", n: 1, bytes: new Uint8Array([1, 2, 3]) },
      { type: "b", nested: [{ x: "y" }] },
    ];
    const chunks = encodeFrame(batch);
    expect(chunks).toHaveLength(1);
    const decoded = decodeFrame(chunks[0]!);
    expect(decoded.ok && decoded.messages).toEqual(batch);
  });

  it("lifts large byte arrays into messages of their own and restores them", () => {
    const big = new Uint8Array(BLOB_THRESHOLD * 2).fill(7);
    const batch = [
      {
        type: "data",
        items: [
          { key: "k", data: big },
          { key: "small", data: new Uint8Array(3) },
        ],
      },
    ];
    const chunks = encodeFrame(batch);
    expect(chunks).toHaveLength(2);
    expect(chunks[1]!.byteLength).toBe(big.byteLength);
    // the blob is sent from the caller's memory, not a copy
    expect(chunks[1]!.buffer).toBe(big.buffer);
    const decoded = decodeFrame(chunks[0]!, chunks.slice(1));
    if (!decoded.ok) throw new Error(decoded.error);
    const [message] = decoded.messages as [{ items: { data: Uint8Array }[] }];
    expect(Buffer.from(message.items[0]!.data).equals(Buffer.from(big))).toBe(true);
    expect(message.items[1]!.data.byteLength).toBe(3);
    // the caller's message is untouched
    expect(batch[0]!.items[0]!.data).toBe(big);
  });

  it("hands back received blob buffers without copying them", () => {
    const a = new Uint8Array(BLOB_THRESHOLD).fill(1);
    const b = new Uint8Array(BLOB_THRESHOLD + 5).fill(2);
    const chunks = encodeFrame([
      {
        type: "data",
        items: [
          { key: "a", data: a },
          { key: "b", data: b },
        ],
      },
    ]);
    expect(chunks).toHaveLength(3);
    const received = chunks.map((c) => Buffer.from(c)); // what ws would hand over
    const reader = new FrameReader();
    expect(reader.push(received[0]!)).toBeUndefined();
    expect(reader.push(received[1]!)).toBeUndefined();
    const decoded = reader.push(received[2]!);
    if (!decoded?.ok) throw new Error(`not decoded: ${JSON.stringify(decoded)}`);
    const [message] = decoded.messages as [{ items: { data: Uint8Array }[] }];
    expect(message.items[0]!.data).toBe(received[1]);
    expect(message.items[1]!.data).toBe(received[2]);
    // the next header starts a new frame
    const next = reader.push(encodeFrame([{ type: "x" }])[0]!);
    expect(next).toEqual({ ok: true, messages: [{ type: "x" }] });
  });

  it("rejects a blob message of the wrong size", () => {
    const chunks = encodeFrame([{ type: "data", data: new Uint8Array(BLOB_THRESHOLD) }]);
    const reader = new FrameReader();
    expect(reader.push(chunks[0]!)).toBeUndefined();
    expect(reader.push(Buffer.alloc(10))).toEqual({
      ok: false,
      error: `frame blob 0 should be ${BLOB_THRESHOLD} bytes but is 10`,
    });
    expect(decodeFrame(chunks[0]!)).toEqual({
      ok: false,
      error: "frame announces 1 blob(s) but 0 arrived",
    });
  });

  it("rejects garbage, truncation and trailing bytes with a reason", () => {
    expect(decodeFrame(Buffer.from("hi"))).toEqual({
      ok: false,
      error: expect.stringContaining("too short"),
    });
    expect(decodeFrame(Buffer.from([9, 0, 0, 0, 0, 0]))).toEqual({
      ok: false,
      error: expect.stringContaining("format 9"),
    });
    const good = encodeFrame([{ type: "a" }])[0]!;
    expect(decodeFrame(good.subarray(0, good.length - 1)).ok).toBe(false);
    expect(decodeFrame(Buffer.concat([good, Buffer.from([0])]))).toEqual({
      ok: false,
      error: "frame has trailing bytes",
    });
    const junkHeader = Buffer.from([2, 3, 0, 0, 0, 0xff, 0xff, 0xff]);
    expect(decodeFrame(junkHeader).ok).toBe(false);
    const notATable = Buffer.concat([
      Buffer.from([2, 0, 0, 0, 0]),
      Buffer.from([0xff, 0x0f, 0x49, 0x02]),
    ]);
    notATable.writeUInt32LE(notATable.length - 5, 1);
    expect(decodeFrame(notATable)).toEqual({
      ok: false,
      error: "frame header is not [messages, blobLengths]",
    });
  });
});
