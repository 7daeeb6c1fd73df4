/**
 * Framing: one WebSocket binary message carries a batch of protocol messages.
 *
 *   byte 0      frame format version (1)
 *   bytes 1..4  header length H (uint32 LE)
 *   H bytes     header: v8-serialised `[messages, blobLengths]`
 *   rest        blobs, back to back
 *
 * Byte arrays of `BLOB_THRESHOLD` bytes or more are lifted out of the messages into blobs
 * (replaced by `{ [BLOB_MARK]: index }`), so a large result is never copied through the
 * serialiser: the sender writes it as its own WebSocket fragment and the receiver gets a
 * zero-copy view of it.
 */
import { deserialize, serialize } from "node:v8";

export const FRAME_VERSION = 1;
export const BLOB_THRESHOLD = 64 * 1024;
const BLOB_MARK = "$launchbay-blob";

export type DecodeResult = { ok: true; messages: unknown[] } | { ok: false; error: string };

/** Encodes a batch into chunks to be sent as one WebSocket message (fragments in order). */
export function encodeFrame(messages: readonly unknown[]): Buffer[] {
  const blobs: Uint8Array[] = [];
  const lifted = messages.map((message) => liftBlobs(message, blobs, 0));
  const header = serialize([lifted, blobs.map((b) => b.byteLength)]);
  const prefix = Buffer.allocUnsafe(5);
  prefix.writeUInt8(FRAME_VERSION, 0);
  prefix.writeUInt32LE(header.byteLength, 1);
  if (blobs.length === 0) return [Buffer.concat([prefix, header])];
  return [
    Buffer.concat([prefix, header]),
    ...blobs.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)),
  ];
}

/** Decodes one WebSocket message into its batch. Never throws. */
export function decodeFrame(data: Buffer): DecodeResult {
  if (data.byteLength < 5) return { ok: false, error: `frame of ${data.byteLength} bytes is too short` };
  const version = data.readUInt8(0);
  if (version !== FRAME_VERSION) {
    return { ok: false, error: `frame format ${version} is not supported (expected ${FRAME_VERSION})` };
  }
  const headerLength = data.readUInt32LE(1);
  if (5 + headerLength > data.byteLength) {
    return { ok: false, error: `frame header claims ${headerLength} bytes but the frame is shorter` };
  }
  let header: unknown;
  try {
    header = deserialize(data.subarray(5, 5 + headerLength));
  } catch (error) {
    return { ok: false, error: `frame header could not be decoded: ${(error as Error).message}` };
  }
  if (!Array.isArray(header) || header.length !== 2 || !Array.isArray(header[0]) || !Array.isArray(header[1])) {
    return { ok: false, error: "frame header is not [messages, blobLengths]" };
  }
  const [messages, lengths] = header as [unknown[], unknown[]];
  const blobs: Buffer[] = [];
  let offset = 5 + headerLength;
  for (const length of lengths) {
    if (typeof length !== "number" || !Number.isInteger(length) || length < 0 || offset + length > data.byteLength) {
      return { ok: false, error: "frame blob table does not match the frame's size" };
    }
    blobs.push(data.subarray(offset, offset + length));
    offset += length;
  }
  if (offset !== data.byteLength) return { ok: false, error: "frame has trailing bytes" };
  try {
    return { ok: true, messages: messages.map((m) => restoreBlobs(m, blobs, 0)) };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

// Messages are shallow (a few levels of objects/arrays); bound the walk anyway.
const MAX_DEPTH = 6;

function liftBlobs(value: unknown, blobs: Uint8Array[], depth: number): unknown {
  if (value instanceof Uint8Array) {
    if (value.byteLength < BLOB_THRESHOLD) return value;
    blobs.push(value);
    return { [BLOB_MARK]: blobs.length - 1 };
  }
  if (depth >= MAX_DEPTH || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const lifted = typeof v === "object" && v !== null ? liftBlobs(v, blobs, depth + 1) : v;
      if (lifted !== v) {
        out ??= value.slice();
        out[i] = lifted;
      }
    }
    return out ?? value;
  }
  let out: Record<string, unknown> | undefined;
  for (const k in value) {
    const v = (value as Record<string, unknown>)[k];
    const lifted = typeof v === "object" && v !== null ? liftBlobs(v, blobs, depth + 1) : v;
    if (lifted !== v) {
      out ??= { ...(value as Record<string, unknown>) };
      out[k] = lifted;
    }
  }
  return out ?? value;
}

function restoreBlobs(value: unknown, blobs: Buffer[], depth: number): unknown {
  if (depth >= MAX_DEPTH || value === null || typeof value !== "object" || value instanceof Uint8Array) {
    return value;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restoreBlobs(value[i], blobs, depth + 1);
    return value;
  }
  const record = value as Record<string, unknown>;
  const mark = record[BLOB_MARK];
  if (mark !== undefined) {
    const blob = typeof mark === "number" ? blobs[mark] : undefined;
    if (!blob) throw new Error(`frame refers to blob ${String(mark)}, which it does not carry`);
    return blob;
  }
  for (const k in record) record[k] = restoreBlobs(record[k], blobs, depth + 1);
  return record;
}
