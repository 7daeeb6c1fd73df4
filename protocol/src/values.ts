/**
 * How task values travel: arguments, results and scattered data are serialised with
 * Node's structured serialiser (`node:v8`), so typed arrays, Maps, Sets, Dates, BigInts
 * and nested objects arrive intact. Futures inside arguments (at any depth in arrays and
 * plain objects) become `{ [FUTURE_MARK]: key }` markers that the worker replaces with the
 * dependency's value.
 */
import { deserialize, serialize } from "node:v8";

export const FUTURE_MARK = "$launchbay-future";
const MAX_DEPTH = 64;

export class ValueEncodingError extends Error {
  override name = "ValueEncodingError";
}

export function serializeValue(value: unknown, what = "value"): Uint8Array {
  try {
    return serialize(value);
  } catch (error) {
    throw new ValueEncodingError(
      `${what} cannot be sent to a worker: ${(error as Error).message}. ` +
        "Values must be structured-cloneable (numbers, strings, arrays, plain objects, typed arrays, Map, Set, Date, BigInt); " +
        "functions, class instances with methods and symbols cannot travel.",
      { cause: error },
    );
  }
}

export function deserializeValue(bytes: Uint8Array): unknown {
  return deserialize(bytes);
}

/**
 * Serialises an argument list, replacing every object for which `keyOf` returns a key
 * (a future) by a marker. Returns the bytes and the distinct keys found.
 */
export function encodeArgs(
  args: readonly unknown[],
  keyOf: (value: object) => string | undefined,
): { bytes: Uint8Array; deps: string[] } {
  const deps = new Set<string>();
  const replace = (value: unknown, depth: number): unknown => {
    if (value === null || typeof value !== "object") return value;
    const key = keyOf(value);
    if (key !== undefined) {
      deps.add(key);
      return { [FUTURE_MARK]: key };
    }
    if (depth >= MAX_DEPTH) return value;
    if (Array.isArray(value)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const r = replace(value[i], depth + 1);
        if (r !== value[i]) {
          out ??= value.slice();
          out[i] = r;
        }
      }
      return out ?? value;
    }
    if (Object.getPrototypeOf(value) !== Object.prototype) return value;
    let out: Record<string, unknown> | undefined;
    for (const k of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[k];
      const r = replace(v, depth + 1);
      if (r !== v) {
        out ??= { ...(value as Record<string, unknown>) };
        out[k] = r;
      }
    }
    return out ?? value;
  };
  const replaced = args.map((a) => replace(a, 0));
  return { bytes: serializeValue(replaced, "an argument"), deps: [...deps] };
}

/** Deserialises an argument list, replacing future markers by `resolve(key)`. */
export function decodeArgs(bytes: Uint8Array, resolve: (key: string) => unknown): unknown[] {
  const args = deserializeValue(bytes);
  if (!Array.isArray(args)) throw new ValueEncodingError("task arguments must decode to an array");
  const restore = (value: unknown, depth: number): unknown => {
    if (value === null || typeof value !== "object" || depth > MAX_DEPTH) return value;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = restore(value[i], depth + 1);
      return value;
    }
    if (Object.getPrototypeOf(value) !== Object.prototype) return value;
    const record = value as Record<string, unknown>;
    const mark = record[FUTURE_MARK];
    if (typeof mark === "string" && Object.keys(record).length === 1) return resolve(mark);
    for (const k of Object.keys(record)) record[k] = restore(record[k], depth + 1);
    return record;
  };
  return args.map((a) => restore(a, 0));
}
