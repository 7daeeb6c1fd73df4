/**
 * Helpers that run INSIDE partition tasks on the workers. Each is self-contained (no
 * imports, no module variables, only worker globals and the other kernels by name), because
 * task functions are composed from their source text: `kernelBinding(lbKeyHash)` embeds
 * `const lbKeyHash = (<its source>);` into a task function. The free-variable check that
 * every submitted function passes also covers these.
 */

/** Whether `value` is a promise-like (user functions may be async). */
export function lbIsThenable(value: unknown): boolean {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/** The results of calling a user function per element: awaited only when some are promises. */
export function lbSettle(values: unknown[]): unknown[] | Promise<unknown[]> {
  for (const value of values) if (lbIsThenable(value)) return Promise.all(values);
  return values;
}

/**
 * A Map key for a group key: primitives as they are (Map compares them by value); arrays
 * and objects by their JSON text, tagged so they cannot equal a string key in practice.
 */
export function lbKeyId(key: unknown): unknown {
  return key !== null && typeof key === "object" ? `\u0000lb-key:${JSON.stringify(key)}` : key;
}

/** A 32-bit hash of a group key, the same on every worker (FNV-1a over a typed text). */
export function lbKeyHash(key: unknown): number {
  let text: string;
  if (key !== null && typeof key === "object") text = `o${JSON.stringify(key)}`;
  else if (typeof key === "string") text = `s${key}`;
  else text = `${typeof key}:${String(key)}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * A total order for sorting: undefined, null and NaN last (also when descending); numbers
 * and bigints by value; strings by code units; booleans false < true; otherwise by type
 * name, then JSON text.
 */
export function lbCompare(a: unknown, b: unknown, descending?: boolean): number {
  const missingA = a === undefined || a === null || Number.isNaN(a);
  const missingB = b === undefined || b === null || Number.isNaN(b);
  if (missingA || missingB) return missingA === missingB ? 0 : missingA ? 1 : -1;
  const ta = typeof a === "bigint" ? "number" : typeof a;
  const tb = typeof b === "bigint" ? "number" : typeof b;
  let order: number;
  if (ta !== tb) order = ta < tb ? -1 : 1;
  else if (ta === "object") {
    const ja = JSON.stringify(a);
    const jb = JSON.stringify(b);
    order = ja < jb ? -1 : ja > jb ? 1 : 0;
  } else order = (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  return descending ? -order : order;
}
