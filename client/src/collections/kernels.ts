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
 * The identity of a group/distinct key, equal exactly for keys that are equal like Python
 * dict keys: primitives stay as they are (a Map compares them by value; 0 and -0 are one
 * key, NaN is one key), a bigint equal to a number becomes that number (2n and 2 are one
 * key); arrays, plain objects (keys in any order) and Dates get a canonical text, tagged so
 * it cannot equal a string key in practice. A Map, Set or class instance has no equality
 * by value: it is refused (UnhashableKeyError) rather than grouped wrongly.
 */
export function lbKeyId(key: unknown): unknown {
  if (typeof key === "bigint") {
    const n = Number(key);
    return Number.isFinite(n) && BigInt(n) === key ? n : key;
  }
  if (key === null || typeof key !== "object") return key;
  const encode = (v: unknown): string => {
    if (v === undefined) return "u";
    if (v === null) return "z";
    switch (typeof v) {
      case "boolean":
        return v ? "t" : "f";
      case "number":
        return Number.isNaN(v) ? "N" : `d${String(v)}`;
      case "bigint": {
        const n = Number(v);
        return Number.isFinite(n) && BigInt(n) === v ? `d${String(n)}` : `b${String(v)}`;
      }
      case "string":
        return JSON.stringify(v);
      case "object": {
        if (Array.isArray(v)) {
          const parts: string[] = [];
          for (let i = 0; i < v.length; i++) parts.push(encode(v[i]));
          return `[${parts.join(",")}]`;
        }
        if (v instanceof Date) return `D${v.getTime()}`;
        const proto = Object.getPrototypeOf(v);
        if (proto === Object.prototype || proto === null) {
          const record = v as Record<string, unknown>;
          const names = Object.keys(record).sort();
          return `{${names.map((k) => `${JSON.stringify(k)}:${encode(record[k])}`).join(",")}}`;
        }
        break;
      }
    }
    const kind =
      typeof v === "object" ? (Object.getPrototypeOf(v)?.constructor?.name ?? "object") : typeof v;
    const error = new TypeError(
      `a ${kind} cannot be a group or distinct key (it has no equality by value): ` +
        "use a string, number, boolean, bigint, Date, array or plain object as the key, " +
        "e.g. groupBy((x) => x.id) or distinct((x) => JSON.stringify(x))",
    );
    error.name = "UnhashableKeyError";
    throw error;
  };
  return `\u0000lb-key:${encode(key)}`;
}

/**
 * Which rows of a table partition have `column` equal to one of `values`, with the key
 * equality of groupBy (lbKeyId): the mask of `table.loc(...)`.
 */
export function lbLookup(
  part: { columns: string[]; values: unknown[][] },
  column: string,
  values: unknown[],
): boolean[] {
  const wanted = new Set(values.map((v) => lbKeyId(v)));
  const cells = part.values[part.columns.indexOf(column)]!;
  return cells.map((v) => wanted.has(lbKeyId(v)));
}

/**
 * A 32-bit hash of a key identity (from lbKeyId), the same on every worker (FNV-1a over a
 * typed text), so equal keys land in the same shuffle bucket.
 */
export function lbKeyHash(id: unknown): number {
  const text = typeof id === "string" ? `s${id}` : `${typeof id}:${String(id)}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * The one order every sort, min/max, topK and group order of the collections uses, like
 * Python's: numbers and bigints by value (-0 equals 0); strings by Unicode code point;
 * booleans false < true; Dates by time; arrays element by element (a shorter prefix
 * first), like tuples. Missing values (undefined, null, NaN) come after every present
 * value, at any depth and in both directions (`descending` reverses only present values).
 * Values of different kinds (a number and a string, a boolean and a number), plain objects
 * and other objects have no order: it throws an UnorderableValuesError saying so.
 */
export function lbCompare(a: unknown, b: unknown, descending?: boolean): number {
  const sign = descending ? -1 : 1;
  const ta = typeof a;
  const tb = typeof b;
  // Fast paths (no allocation) for the common cases: two numbers, two strings.
  if (ta === "number" && tb === "number" && !Number.isNaN(a) && !Number.isNaN(b)) {
    return (a as number) < (b as number) ? -sign : (a as number) > (b as number) ? sign : 0;
  }
  if (ta === "string" && tb === "string") {
    const x = a as string;
    const y = b as string;
    if (x === y) return 0;
    const n = Math.min(x.length, y.length);
    for (let i = 0; i < n; i++) {
      let cx = x.charCodeAt(i);
      let cy = y.charCodeAt(i);
      if (cx === cy) continue;
      // UTF-16 units to code point order: surrogates (astral code points) after U+E000..U+FFFF.
      if (cx >= 0xd800) cx = cx >= 0xe000 ? cx - 0x800 : cx + 0x2000;
      if (cy >= 0xd800) cy = cy >= 0xe000 ? cy - 0x800 : cy + 0x2000;
      return cx < cy ? -sign : sign;
    }
    return x.length < y.length ? -sign : sign;
  }
  const missingA = a === undefined || a === null || (ta === "number" && Number.isNaN(a));
  const missingB = b === undefined || b === null || (tb === "number" && Number.isNaN(b));
  if (missingA || missingB) return missingA === missingB ? 0 : missingA ? 1 : -1;
  const kindA =
    ta === "number" || ta === "bigint"
      ? "number"
      : ta === "string" || ta === "boolean"
        ? ta
        : Array.isArray(a)
          ? "array"
          : a instanceof Date
            ? "date"
            : "unordered";
  const kindB =
    tb === "number" || tb === "bigint"
      ? "number"
      : tb === "string" || tb === "boolean"
        ? tb
        : Array.isArray(b)
          ? "array"
          : b instanceof Date
            ? "date"
            : "unordered";
  if (kindA === kindB && kindA !== "unordered") {
    if (kindA === "number") {
      return (a as number) < (b as number) ? -sign : (a as number) > (b as number) ? sign : 0;
    }
    if (kindA === "boolean") return a === b ? 0 : a ? sign : -sign;
    if (kindA === "date") {
      const x = (a as Date).getTime();
      const y = (b as Date).getTime();
      if (Number.isNaN(x) || Number.isNaN(y)) {
        return Number.isNaN(x) === Number.isNaN(y) ? 0 : Number.isNaN(x) ? 1 : -1;
      }
      return x < y ? -sign : x > y ? sign : 0;
    }
    // Arrays, element by element (like tuples); a shorter prefix first.
    const x = a as unknown[];
    const y = b as unknown[];
    const n = Math.min(x.length, y.length);
    for (let i = 0; i < n; i++) {
      const order = lbCompare(x[i], y[i], descending);
      if (order !== 0) return order;
    }
    return x.length === y.length ? 0 : x.length < y.length ? -sign : sign;
  }
  const show = (v: unknown): string => {
    if (typeof v === "string") return `the string ${JSON.stringify(v.slice(0, 30))}`;
    if (typeof v === "bigint") return `the bigint ${v}n`;
    if (typeof v === "number" || typeof v === "boolean") return `the ${typeof v} ${v}`;
    if (Array.isArray(v)) return "an array";
    if (v instanceof Date) return "a Date";
    if (typeof v === "object") {
      const name = Object.getPrototypeOf(v)?.constructor?.name;
      return name && name !== "Object" ? `a ${name}` : "an object";
    }
    return `a ${typeof v}`;
  };
  const error = new TypeError(
    `cannot order ${show(a)} and ${show(b)}: sorting, min, max, topK and group order ` +
      "compare numbers (and bigints) with numbers, strings with strings, booleans with " +
      "booleans, Dates with Dates and arrays element by element (like Python tuples); " +
      "objects have no order. Compare by a key instead, e.g. topK(3, (r) => r.score), " +
      "or make the values one kind, e.g. map((x) => String(x))",
  );
  error.name = "UnorderableValuesError";
  throw error;
}
