/**
 * Walks arrays, plain objects, Maps (their values) and Sets (at any depth) for futures,
 * and rebuilds the same shape with their values: what `client.gather()` accepts and
 * returns.
 */
import { Future } from "./future.js";

/** `T` with every `Future<R>` (at any depth in arrays and plain objects) replaced by `R`. */
export type Gathered<T> =
  T extends Future<infer R>
    ? R
    : T extends ReadonlyMap<infer K, infer V>
      ? Map<K, Gathered<V>>
      : T extends ReadonlySet<infer V>
        ? Set<Gathered<V>>
        : T extends readonly unknown[]
          ? { -readonly [K in keyof T]: Gathered<T[K]> }
          : T extends { [key: string]: unknown }
            ? { [K in keyof T]: Gathered<T[K]> }
            : T;

const MAX_DEPTH = 64;

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function collectFutures(
  value: unknown,
  out: Future<unknown>[] = [],
  depth = 0,
): Future<unknown>[] {
  if (value === null || typeof value !== "object") return out;
  if (value instanceof Future) {
    out.push(value);
    return out;
  }
  if (depth >= MAX_DEPTH) return out;
  if (Array.isArray(value) || value instanceof Set) {
    for (const item of value) collectFutures(item, out, depth + 1);
  } else if (value instanceof Map) {
    for (const item of value.values()) collectFutures(item, out, depth + 1);
  } else if (isPlainObject(value)) {
    for (const key of Object.keys(value)) collectFutures(value[key], out, depth + 1);
  }
  return out;
}

export function replaceFutures(
  value: unknown,
  values: Map<Future<unknown>, unknown>,
  depth = 0,
): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Future) return values.get(value);
  if (depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => replaceFutures(item, values, depth + 1));
  if (value instanceof Map) {
    const out = new Map();
    for (const [key, item] of value) out.set(key, replaceFutures(item, values, depth + 1));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set();
    for (const item of value) out.add(replaceFutures(item, values, depth + 1));
    return out;
  }
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = replaceFutures(value[key], values, depth + 1);
    return out;
  }
  return value;
}
