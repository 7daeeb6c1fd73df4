/**
 * A fast path for the most common task values: argument lists made only of primitives
 * (numbers, one-byte strings, booleans, null, undefined), and single primitive results.
 * It writes and reads exactly the bytes of Node's structured serialiser (`node:v8`, which
 * `values.ts` uses on the workers), without creating a serialiser object and a fresh
 * ArrayBuffer per value: small argument buffers are cut from a shared slab. Anything else
 * falls back to `node:v8`.
 */
import { deserialize, serialize } from "node:v8";

// The serialiser's header: 0xFF and its format version, taken from this Node's V8.
const HEADER = serialize(0).subarray(0, 2);
const VERSION = HEADER[1]!;

const TAG_INT = 0x49; // 'I': zigzag varint int32
const TAG_DOUBLE = 0x4e; // 'N': float64 LE
const TAG_ONE_BYTE_STRING = 0x22; // '"': varint length, latin1 bytes
const TAG_TWO_BYTE_STRING = 0x63; // 'c': varint byte length, UTF-16LE
const TAG_PADDING = 0x00;
const TAG_TRUE = 0x54; // 'T'
const TAG_FALSE = 0x46; // 'F'
const TAG_NULL = 0x30; // '0'
const TAG_UNDEFINED = 0x5f; // '_'
const TAG_DENSE_ARRAY = 0x41; // 'A'
const TAG_END_DENSE_ARRAY = 0x24; // '$'

const MAX_STRING = 1024;
const MAX_ARGS = 64;
// Every Smi is an int32 on some platform and at least 31 bits everywhere: 'I' for those.
const SMI_MIN = -(2 ** 30);
const SMI_MAX = 2 ** 30 - 1;

const SLAB_BYTES = 64 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabOffset = 0;

/** `v8.serialize(args)` for an argument list of primitives; undefined when any argument is not one. */
export function encodePrimitiveArgs(args: readonly unknown[]): Uint8Array | undefined {
  const n = args.length;
  if (n > MAX_ARGS) return undefined;
  // Upper bound: header 2, tag + varint 6, per value ≤ 1 + 5 + MAX_STRING (or 9), end 1 + 1 + 5.
  let bound = 15;
  for (let i = 0; i < n; i++) {
    const value = args[i];
    switch (typeof value) {
      case "number":
      case "boolean":
      case "undefined":
        bound += 9;
        break;
      case "string":
        if (value.length > MAX_STRING) return undefined;
        bound += 6 + value.length;
        break;
      default:
        if (value !== null) return undefined;
        bound += 1;
    }
  }
  if (slabOffset + bound > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabOffset = 0;
  }
  const buf = slab;
  const start = slabOffset;
  let at = start;
  buf[at++] = 0xff;
  buf[at++] = VERSION;
  buf[at++] = TAG_DENSE_ARRAY;
  at = writeVarint(buf, at, n);
  for (let i = 0; i < n; i++) {
    const value = args[i];
    if (typeof value === "number") {
      if (
        Number.isInteger(value) &&
        value >= SMI_MIN &&
        value <= SMI_MAX &&
        !Object.is(value, -0)
      ) {
        buf[at++] = TAG_INT;
        at = writeVarint(buf, at, ((value << 1) ^ (value >> 31)) >>> 0);
      } else {
        buf[at++] = TAG_DOUBLE;
        buf.writeDoubleLE(value, at);
        at += 8;
      }
    } else if (typeof value === "string") {
      const len = value.length;
      for (let j = 0; j < len; j++) {
        if (value.charCodeAt(j) > 0xff) return undefined; // two-byte strings need alignment: use v8
      }
      buf[at++] = TAG_ONE_BYTE_STRING;
      at = writeVarint(buf, at, len);
      for (let j = 0; j < len; j++) buf[at++] = value.charCodeAt(j);
    } else if (value === true) buf[at++] = TAG_TRUE;
    else if (value === false) buf[at++] = TAG_FALSE;
    else if (value === null) buf[at++] = TAG_NULL;
    else buf[at++] = TAG_UNDEFINED;
  }
  buf[at++] = TAG_END_DENSE_ARRAY;
  buf[at++] = 0; // no extra properties
  at = writeVarint(buf, at, n);
  slabOffset = at;
  return buf.subarray(start, at);
}

function writeVarint(buf: Buffer, at: number, value: number): number {
  let v = value;
  while (v >= 0x80) {
    buf[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[at++] = v;
  return at;
}

const NOT_PRIMITIVE = Symbol("not-primitive");

/** `v8.deserialize(bytes)`, reading single primitive values directly. */
export function decodeValue(bytes: Uint8Array): unknown {
  const value = bytes.byteLength <= 2 * MAX_STRING + 16 ? decodePrimitive(bytes) : NOT_PRIMITIVE;
  return value === NOT_PRIMITIVE ? deserialize(bytes) : value;
}

function decodePrimitive(b: Uint8Array): unknown {
  const end = b.byteLength;
  if (end < 3 || b[0] !== 0xff || b[1] !== VERSION) return NOT_PRIMITIVE;
  let at = 2;
  // Optional padding before two-byte strings.
  while (at < end && b[at] === TAG_PADDING) at++;
  const tag = b[at++];
  let value: unknown;
  switch (tag) {
    case TAG_INT: {
      const [raw, next] = readVarint(b, at);
      if (next < 0) return NOT_PRIMITIVE;
      at = next;
      value = (raw >>> 1) ^ -(raw & 1);
      break;
    }
    case TAG_DOUBLE:
      if (at + 8 > end) return NOT_PRIMITIVE;
      value = new DataView(b.buffer, b.byteOffset + at, 8).getFloat64(0, true);
      at += 8;
      break;
    case TAG_ONE_BYTE_STRING:
    case TAG_TWO_BYTE_STRING: {
      const [len, next] = readVarint(b, at);
      if (next < 0 || next + len > end) return NOT_PRIMITIVE;
      at = next;
      value = Buffer.from(b.buffer, b.byteOffset + at, len).toString(
        tag === TAG_ONE_BYTE_STRING ? "latin1" : "utf16le",
      );
      at += len;
      break;
    }
    case TAG_TRUE:
      value = true;
      break;
    case TAG_FALSE:
      value = false;
      break;
    case TAG_NULL:
      value = null;
      break;
    case TAG_UNDEFINED:
      value = undefined;
      break;
    default:
      return NOT_PRIMITIVE;
  }
  return at === end ? value : NOT_PRIMITIVE;
}

function readVarint(b: Uint8Array, start: number): [number, number] {
  let result = 0;
  let shift = 0;
  let at = start;
  while (at < b.byteLength && shift <= 28) {
    const byte = b[at++]!;
    result |= (byte & 0x7f) << shift;
    if (byte < 0x80) return [result >>> 0, at];
    shift += 7;
  }
  return [0, -1];
}
