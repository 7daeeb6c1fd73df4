/**
 * Framing: a batch of protocol messages travels as one WebSocket message (the header),
 * followed by one WebSocket message per blob it announces.
 *
 *   header message:
 *     byte 0      frame format version (2)
 *     bytes 1..4  header length H (uint32 LE)
 *     H bytes     v8-serialised `[messages, blobLengths]`
 *   then blobLengths.length messages, the i-th exactly blobLengths[i] bytes long
 *
 * Byte arrays of `BLOB_THRESHOLD` bytes or more are lifted out of the messages into blobs
 * (replaced by `{ [BLOB_MARK]: index }`), so a large value is never copied through the
 * serialiser. Sending each blob as a WebSocket message of its own (rather than as a
 * fragment of the header's message) lets the receiver use the buffer `ws` assembled for
 * it as is: a fragmented message would be joined into yet another copy.
 */
import { DefaultSerializer, deserialize } from "node:v8";

export const FRAME_VERSION = 2;
export const BLOB_THRESHOLD = 64 * 1024;
const BLOB_MARK = "$launchbay-blob";

export type DecodeResult = { ok: true; messages: unknown[] } | { ok: false; error: string };

const PREFIX_PLACEHOLDER = new Uint8Array(5);

type HeaderResult =
  | { ok: true; messages: unknown[]; lengths: number[] }
  | { ok: false; error: string };

/**
 * Encodes a batch into WebSocket messages to send in order: the header, then one message
 * per lifted blob (zero-copy views of the caller's byte arrays).
 */
export function encodeFrame(messages: readonly unknown[]): Buffer[] {
  const blobs: Uint8Array[] = [];
  const lifted = liftAll(messages, blobs);
  const lengths = new Array<number>(blobs.length);
  for (let i = 0; i < blobs.length; i++) lengths[i] = blobs[i]!.byteLength;
  // What `v8.serialize` does, behind 5 bytes reserved for the prefix (saves a copy).
  const serializer = new DefaultSerializer();
  serializer.writeRawBytes(PREFIX_PLACEHOLDER);
  serializer.writeHeader();
  serializer.writeValue([lifted, lengths]);
  const out = serializer.releaseBuffer();
  out[0] = FRAME_VERSION;
  out.writeUInt32LE(out.byteLength - 5, 1);
  if (blobs.length === 0) return [out];
  const chunks: Buffer[] = [out];
  for (const b of blobs) chunks.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  return chunks;
}

/**
 * Decodes one frame from its header message and its blob messages. Never throws.
 * (`FrameReader` does the same for a stream of WebSocket messages.)
 */
export function decodeFrame(header: Buffer, blobs: readonly Buffer[] = []): DecodeResult {
  const head = readHeader(header);
  if (!head.ok) return head;
  if (head.lengths.length !== blobs.length) {
    return {
      ok: false,
      error: `frame announces ${head.lengths.length} blob(s) but ${blobs.length} arrived`,
    };
  }
  for (let i = 0; i < blobs.length; i++) {
    const error = blobMismatch(head.lengths, i, blobs[i]!);
    if (error) return { ok: false, error };
  }
  return restore(head.messages, blobs);
}

/**
 * Turns the WebSocket messages of one connection back into batches: a header message
 * that announces blobs is completed by the messages that follow it.
 */
export class FrameReader {
  private partial: { messages: unknown[]; lengths: number[]; blobs: Buffer[] } | undefined;

  /** The decoded batch, or undefined while blobs of the current frame are still to come. */
  push(data: Buffer): DecodeResult | undefined {
    const partial = this.partial;
    if (partial) {
      const error = blobMismatch(partial.lengths, partial.blobs.length, data);
      if (error) {
        this.partial = undefined;
        return { ok: false, error };
      }
      partial.blobs.push(data);
      if (partial.blobs.length < partial.lengths.length) return undefined;
      this.partial = undefined;
      return restore(partial.messages, partial.blobs);
    }
    const head = readHeader(data);
    if (!head.ok) return head;
    if (head.lengths.length === 0) return restore(head.messages, []);
    this.partial = { messages: head.messages, lengths: head.lengths, blobs: [] };
    return undefined;
  }
}

function blobMismatch(lengths: number[], index: number, blob: Buffer): string | undefined {
  const expected = lengths[index];
  if (expected === blob.byteLength) return undefined;
  return `frame blob ${index} should be ${expected} bytes but is ${blob.byteLength}`;
}

function readHeader(data: Buffer): HeaderResult {
  if (data.byteLength < 5)
    return { ok: false, error: `frame of ${data.byteLength} bytes is too short` };
  const version = data[0];
  if (version !== FRAME_VERSION) {
    return {
      ok: false,
      error: `frame format ${version} is not supported (expected ${FRAME_VERSION})`,
    };
  }
  const headerLength = data.readUInt32LE(1);
  if (5 + headerLength > data.byteLength) {
    return {
      ok: false,
      error: `frame header claims ${headerLength} bytes but the frame is shorter`,
    };
  }
  if (5 + headerLength < data.byteLength) return { ok: false, error: "frame has trailing bytes" };
  let header: unknown;
  try {
    header = deserialize(data.subarray(5));
  } catch (error) {
    return { ok: false, error: `frame header could not be decoded: ${(error as Error).message}` };
  }
  if (
    !Array.isArray(header) ||
    header.length !== 2 ||
    !Array.isArray(header[0]) ||
    !Array.isArray(header[1])
  ) {
    return { ok: false, error: "frame header is not [messages, blobLengths]" };
  }
  const [messages, lengths] = header as [unknown[], unknown[]];
  for (const length of lengths) {
    if (typeof length !== "number" || !Number.isInteger(length) || length < 0 || length > 2 ** 32) {
      return { ok: false, error: "frame blob table holds something other than byte lengths" };
    }
  }
  return { ok: true, messages, lengths: lengths as number[] };
}

function restore(messages: unknown[], blobs: readonly Buffer[]): DecodeResult {
  if (blobs.length === 0) return { ok: true, messages };
  try {
    for (let i = 0; i < messages.length; i++) messages[i] = restoreBlobs(messages[i], blobs, 0);
    return { ok: true, messages };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

// Messages are shallow (a few levels of objects/arrays); bound the walk anyway.
const MAX_DEPTH = 6;

function liftAll(messages: readonly unknown[], blobs: Uint8Array[]): readonly unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    const lifted = liftBlobs(m, blobs, 0);
    if (lifted !== m) {
      out ??= messages.slice();
      out[i] = lifted;
    }
  }
  return out ?? messages;
}

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

function restoreBlobs(value: unknown, blobs: readonly Buffer[], depth: number): unknown {
  if (
    depth >= MAX_DEPTH ||
    value === null ||
    typeof value !== "object" ||
    value instanceof Uint8Array
  ) {
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
