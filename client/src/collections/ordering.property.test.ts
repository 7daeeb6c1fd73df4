/**
 * Property tests of the collections' one order (lbCompare) and key identity (lbKeyId):
 * seeded random bags and tables of numbers (negative, fractional), strings (astral and
 * high-BMP characters), tuples and nested tuples, run through the generated task code
 * in this process (RecordingSink: sources evaluated as workers evaluate them) and checked
 * against the plain in-memory computation with an independent Python-like comparison.
 */
import { describe, expect, it } from "vitest";
import { Bag } from "./bag.js";
import { lbCompare, lbKeyId } from "./kernels.js";
import type { Scalar } from "./scalar.js";
import { Table } from "./table.js";
import { RecordingSink } from "./testing/recording-sink.js";
import { seededRandom } from "./testing/seeded-random.js";
import { standInClient } from "./testing/stand-in-client.js";

const client = standInClient();
const CASES = 40;

/** Python's comparison of ints/floats, str (by code point) and tuples, written independently. */
function pyCompare(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const order = pyCompare(a[i], b[i]);
      if (order !== 0) return order;
    }
    return Math.sign(a.length - b.length);
  }
  if (typeof a === "string" && typeof b === "string") {
    const ca = Array.from(a, (c) => c.codePointAt(0)!);
    const cb = Array.from(b, (c) => c.codePointAt(0)!);
    return pyCompare(ca, cb);
  }
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : 0;
  throw new Error(`test data mixes ${typeof a} and ${typeof b}`);
}

/** Python's key equality for the same data: JSON text (-0 and 0 are both "0"). */
const pyKey = (x: unknown) => JSON.stringify(x);

type Gen = (rand: () => number) => unknown;
const CHARS = ["a", "b", "B", "z", "é", "\uffef", "😀", "𝄞", "", "ab"];
const int: Gen = (r) => Math.floor(r() * 21) - 10;
const frac: Gen = (r) => Math.round((r() * 4 - 2) * 100) / 100;
const str: Gen = (r) => {
  const n = Math.floor(r() * 3);
  let s = "";
  for (let i = 0; i < n; i++) s += CHARS[Math.floor(r() * CHARS.length)];
  return s;
};
const tuple: Gen = (r) => [r() < 0.5 ? int(r) : frac(r), str(r)];
const ragged: Gen = (r) => Array.from({ length: Math.floor(r() * 3) }, () => int(r));
const nested: Gen = (r) => [tuple(r), int(r)];
const KINDS: Record<string, Gen> = { int, frac, str, tuple, ragged, nested };

function dataset(seed: number, gen: Gen): { items: unknown[]; npartitions: number } {
  const rand = seededRandom(seed);
  const n = 1 + Math.floor(rand() * 40);
  return {
    items: Array.from({ length: n }, () => gen(rand)),
    npartitions: 1 + Math.floor(rand() * 6),
  };
}

async function items<T>(bag: Bag<T>): Promise<T[]> {
  const { values } = await RecordingSink.evaluate(bag.plan);
  return (values as T[][]).flat();
}

async function value<T>(scalar: Scalar<T>): Promise<T> {
  const { values } = await RecordingSink.evaluate(scalar.plan);
  return scalar.finishValue(values[0]);
}

/** Stable sort, largest first (Python's sorted(..., reverse=True) keeps equal items in order). */
const descending = (xs: unknown[]) =>
  xs
    .map((x, i) => [x, i] as const)
    .sort((p, q) => -pyCompare(p[0], q[0]) || p[1] - q[1])
    .map((p) => p[0]);

describe.each(Object.entries(KINDS))("the collections' order on %s items", (kind, gen) => {
  it(`max, min and topK equal Python's on ${CASES} seeded ${kind} bags`, async () => {
    for (let seed = 1; seed <= CASES; seed++) {
      const { items: data, npartitions } = dataset(seed * 7919 + kind.length, gen);
      const bag = Bag.from(client, data, { npartitions });
      const sorted = descending(data);
      const k = 1 + (seed % 5);
      expect(await value(bag.max()), `seed ${seed}`).toEqual(sorted[0]);
      expect(await value(bag.min()), `seed ${seed}`).toEqual(sorted[sorted.length - 1]);
      expect(await items(bag.topK(k)), `seed ${seed}`).toEqual(sorted.slice(0, k));
      const ascendingByKey = await items(bag.topK(k, (x: unknown) => [x]));
      expect(ascendingByKey, `seed ${seed}`).toEqual(sorted.slice(0, k));
    }
  });

  it(`distinct, frequencies and groupBy equal the in-memory computation on ${CASES} seeded ${kind} bags`, async () => {
    for (let seed = 1; seed <= CASES; seed++) {
      const { items: data, npartitions } = dataset(seed * 104729 + kind.length, gen);
      const bag = Bag.from(client, data, { npartitions });
      const firsts = new Map<string, unknown>();
      const counts = new Map<string, number>();
      for (const x of data) {
        if (!firsts.has(pyKey(x))) firsts.set(pyKey(x), x);
        counts.set(pyKey(x), (counts.get(pyKey(x)) ?? 0) + 1);
      }
      const distinct = await items(bag.distinct());
      expect(new Set(distinct.map(pyKey)), `seed ${seed}`).toEqual(new Set(firsts.keys()));
      expect(distinct).toHaveLength(firsts.size);
      const freq = await items(bag.frequencies());
      expect(new Map(freq.map(([x, n]) => [pyKey(x), n])), `seed ${seed}`).toEqual(counts);
      const groups = await items(bag.groupBy((x: unknown) => x, { npartitions: 1 + (seed % 3) }));
      expect(groups).toHaveLength(counts.size);
      for (const [key, members] of groups) {
        expect(members.length, `seed ${seed}`).toBe(counts.get(pyKey(key)));
        for (const m of members) expect(pyKey(m)).toBe(pyKey(key));
      }
    }
  });

  it(`Table sortBy, groupBy order and agg min/max equal the in-memory computation on ${CASES} seeded ${kind} columns`, async () => {
    for (let seed = 1; seed <= CASES; seed++) {
      const { items: data, npartitions } = dataset(seed * 31 + kind.length, gen);
      const records = data.map((v, i) => ({ i, v, g: i % 3 }));
      const table = Table.fromRecords(client, records, { npartitions });
      const rows = async (t: Table<(typeof records)[number]>) => {
        const { values } = await RecordingSink.evaluate(t.plan);
        return (values as { columns: string[]; values: unknown[][]; length: number }[]).flatMap(
          (p) =>
            Array.from({ length: p.length }, (_, r) =>
              Object.fromEntries(p.columns.map((c, j) => [c, p.values[j]![r]])),
            ),
        );
      };
      const up = [...records].sort((a, b) => pyCompare(a.v, b.v) || a.i - b.i);
      expect(await rows(table.sortBy("v")), `seed ${seed}`).toEqual(up);
      const down = [...records].sort((a, b) => -pyCompare(a.v, b.v) || a.i - b.i);
      expect(await rows(table.sortBy("v", { descending: true })), `seed ${seed}`).toEqual(down);
      const byValue = await rows(
        table.groupBy("v").agg({ n: ["i", "count"] }) as unknown as Table<(typeof records)[number]>,
      );
      const keys = [...new Map(data.map((x) => [pyKey(x), x])).values()].sort(pyCompare);
      expect(
        byValue.map((r) => r.v),
        `seed ${seed}`,
      ).toEqual(keys);
      const extremes = await rows(
        table.groupBy("g").agg({ lo: ["v", "min"], hi: ["v", "max"] }) as unknown as Table<
          (typeof records)[number]
        >,
      );
      for (const row of extremes) {
        const members = records.filter((r) => r.g === (row as { g: number }).g).map((r) => r.v);
        const sorted = descending(members);
        expect((row as { hi: unknown }).hi, `seed ${seed}`).toEqual(sorted[0]);
        expect((row as { lo: unknown }).lo, `seed ${seed}`).toEqual(sorted[sorted.length - 1]);
      }
    }
  });
});

/** Python-like dict-key identity, written independently of lbKeyId, for keyish test data. */
function refKey(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(refKey).join(",")}]`;
  if (x === null) return "None";
  if (x === undefined) return "undefined";
  if (typeof x === "number") return Number.isNaN(x) ? "nan" : `num:${x === 0 ? 0 : x}`;
  if (typeof x === "bigint") return `num:${x}`;
  if (typeof x === "string") return `str:${x}`;
  const record = x as Record<string, unknown>;
  return `{${Object.keys(record)
    .sort()
    .map((k) => `${k}=${refKey(record[k])}`)
    .join(",")}}`;
}

const ATOMS: unknown[] = [null, undefined, Number.NaN, 0, -0, 1, 1n, 2, 2n, "1", "a", ""];
const keyish: Gen = (r) => {
  const atom = () => ATOMS[Math.floor(r() * ATOMS.length)];
  const roll = r();
  if (roll < 0.3) return atom();
  if (roll < 0.7) return Array.from({ length: Math.floor(r() * 3) }, atom);
  const a = atom();
  const b = atom();
  return r() < 0.5 ? { a, b } : { b, a };
};

describe("the collections' key equality", () => {
  it(`distinct, frequencies and groupBy group ${CASES} seeded bags of null/undefined/NaN/-0/bigint tuples and objects like Python dict keys`, async () => {
    for (let seed = 1; seed <= CASES; seed++) {
      const { items: data, npartitions } = dataset(seed * 613, keyish);
      const bag = Bag.from(client, data, { npartitions });
      const counts = new Map<string, number>();
      for (const x of data) counts.set(refKey(x), (counts.get(refKey(x)) ?? 0) + 1);
      const distinct = await items(bag.distinct());
      expect(distinct.map(refKey).sort(), `seed ${seed}`).toEqual([...counts.keys()].sort());
      const freq = await items(bag.frequencies());
      expect(new Map(freq.map(([x, n]) => [refKey(x), n])), `seed ${seed}`).toEqual(counts);
      const groups = await items(bag.groupBy((x: unknown) => x, { npartitions: 1 + (seed % 3) }));
      expect(new Map(groups.map(([k, xs]) => [refKey(k), xs.length])), `seed ${seed}`).toEqual(
        counts,
      );
    }
  });
});

describe("the collections' order", () => {
  it("orders the issue's tuples like Python: [10, 'a'] is the largest, [-0.1, 'a'] beats [-0.9, 'b']", async () => {
    const tuples = Bag.from(
      client,
      [
        [10, "a"],
        [9, "b"],
        [2, "c"],
      ],
      { npartitions: 2 },
    );
    expect(await value(tuples.max())).toEqual([10, "a"]);
    expect(await value(tuples.min())).toEqual([2, "c"]);
    expect(await items(tuples.topK(2))).toEqual([
      [10, "a"],
      [9, "b"],
    ]);
    const negative = Bag.from(client, [
      [-0.1, "a"],
      [-0.9, "b"],
    ]);
    expect(await value(negative.max())).toEqual([-0.1, "a"]);
  });

  it(`max and min by a key give the first item with the largest/smallest key, like Python's, on ${CASES} seeded tuple bags`, async () => {
    for (let seed = 1; seed <= CASES; seed++) {
      const { items: data, npartitions } = dataset(seed * 271, tuple);
      const bag = Bag.from(client, data as [number, string][], { npartitions });
      const first = (sign: number) =>
        data.reduce((best, x) =>
          sign * pyCompare((x as unknown[])[1], (best as unknown[])[1]) > 0 ? x : best,
        );
      const second = (t: [number, string]) => t[1];
      expect(await value(bag.max(second)), `seed ${seed}`).toEqual(first(1));
      expect(await value(bag.min(second)), `seed ${seed}`).toEqual(first(-1));
    }
  });

  it("compares numbers with bigints by value, strings by code point, booleans and Dates", () => {
    expect(lbCompare(2n, 1.5)).toBe(1);
    expect(lbCompare(-0, 0)).toBe(0);
    expect(lbCompare("\uffef", "😀")).toBe(-1); // code units would say the opposite
    expect(lbCompare(false, true)).toBe(-1);
    expect(lbCompare(new Date(5), new Date(7))).toBe(-1);
    expect(lbCompare([1, "a"], [1])).toBe(1);
    expect(lbCompare([1, 2], [1, 10])).toBe(-1);
  });

  it("puts missing values (null, undefined, NaN) last in both directions, and skips them in max/min", async () => {
    expect([3, null, 1, Number.NaN, 2].sort((a, b) => lbCompare(a, b, true))).toEqual([
      3,
      2,
      1,
      null,
      Number.NaN,
    ]);
    const bag = Bag.from(client, [null, 4, Number.NaN, -2, undefined], { npartitions: 2 });
    expect(await value(bag.max())).toBe(4);
    expect(await value(bag.min())).toBe(-2);
  });

  it("refuses values that have no order between them, naming both", () => {
    expect(() => lbCompare(1, "1")).toThrow(/cannot order the number 1 and the string "1"/);
    expect(() => lbCompare(true, 1)).toThrow(/boolean true and the number 1/);
    expect(() => lbCompare({ a: 1 }, { a: 2 })).toThrow(/an object and an object/);
    expect(() => lbCompare([1, "a"], [1, 2])).toThrow(/the string "a" and the number 2/);
    try {
      lbCompare(new Map(), new Map());
    } catch (error) {
      expect((error as Error).name).toBe("UnorderableValuesError");
    }
    expect.assertions(5);
  });

  it("fails max() of mixed numbers and strings with the remote UnorderableValuesError", async () => {
    await expect(value(Bag.from(client, [1, "a"]).max())).rejects.toThrow(
      expect.objectContaining({ name: "UnorderableValuesError" }),
    );
  });

  it("gives keys equal like Python dict keys one identity, and refuses keys without equality by value", () => {
    expect(lbKeyId([1, "a"])).toBe(lbKeyId([1, "a"]));
    expect(lbKeyId([1, null])).not.toBe(lbKeyId([1, undefined]));
    expect(lbKeyId([Number.NaN])).not.toBe(lbKeyId([null]));
    expect(lbKeyId([2n])).toBe(lbKeyId([2]));
    expect(lbKeyId(2n)).toBe(2);
    expect(lbKeyId([-0])).toBe(lbKeyId([0]));
    expect(lbKeyId({ a: 1, b: 2 })).toBe(lbKeyId({ b: 2, a: 1 }));
    expect(lbKeyId(["1"])).not.toBe(lbKeyId([1]));
    expect(() => lbKeyId(new Map([[1, 2]]))).toThrow(/a Map cannot be a group or distinct key/);
  });
});
