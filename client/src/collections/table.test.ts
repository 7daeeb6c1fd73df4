import { describe, expect, it } from "vitest";
import { FreeVariableError } from "../errors.js";
import type { CollectionError } from "./errors.js";
import type { Scalar } from "./scalar.js";
import { type Row, Table } from "./table.js";
import { lbRows, type TablePartition } from "./table-kernels.js";
import { RecordingSink } from "./testing/recording-sink.js";
import { seededRandom } from "./testing/seeded-random.js";
import { standInClient } from "./testing/stand-in-client.js";

const client = standInClient();

async function rows<R extends Row>(table: Table<R>): Promise<R[]> {
  const { values } = await RecordingSink.evaluate(table.plan);
  return (values as TablePartition[]).flatMap((p) => lbRows(p) as R[]);
}

async function value<T>(scalar: Scalar<T>): Promise<T> {
  const { values } = await RecordingSink.evaluate(scalar.plan);
  return scalar.finishValue(values[0]);
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as CollectionError).code;
  }
  return undefined;
}

interface Flight extends Row {
  origin: string;
  carrier: string;
  delay: number | null;
  distance: number;
}

function flights(n: number, seed: number): Flight[] {
  const random = seededRandom(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
  return Array.from({ length: n }, () => ({
    origin: pick(["SFO", "JFK", "ORD", "ATL"]),
    carrier: pick(["AA", "UA", "DL"]),
    delay: random() < 0.1 ? null : Math.round(random() * 120 - 20),
    distance: Math.round(200 + random() * 2500),
  }));
}

describe("Table construction", () => {
  it("keeps records columnar per partition, with every key as a column in first-seen order", async () => {
    const table = Table.fromRecords(client, [{ a: 1 }, { b: "x", a: 2 }, { a: 3, c: true }], {
      npartitions: 2,
    });
    expect(table.columns).toEqual(["a", "b", "c"]);
    expect(table.toString()).toBe("Table(columns=[a, b, c], npartitions=2)");
    const { values, sink } = await RecordingSink.evaluate(table.plan);
    expect(sink.tasks).toHaveLength(0);
    expect(values[0]).toEqual({
      columns: ["a", "b", "c"],
      length: 2,
      values: [
        [1, 2],
        [undefined, "x"],
        [undefined, undefined],
      ],
    });
    expect(await rows(table)).toEqual([
      { a: 1, b: undefined, c: undefined },
      { a: 2, b: "x", c: undefined },
      { a: 3, b: undefined, c: true },
    ]);
  });

  it("builds a table from equal-length columns and refuses ragged ones", async () => {
    const table = Table.fromColumns(
      client,
      { x: [1, 2, 3, 4, 5], y: ["a", "b", "c", "d", "e"] },
      {
        npartitions: 2,
      },
    );
    expect(table.npartitions).toBe(2);
    expect((await rows(table)).map((r) => `${r.x}${r.y}`)).toEqual(["1a", "2b", "3c", "4d", "5e"]);
    expect(() => Table.fromColumns(client, { x: [1, 2], y: [1] })).toThrow(
      /column "y" has 1 values, but "x" has 2: every column needs one value per row/,
    );
    expect(codeOf(() => Table.fromColumns(client, { x: 3 } as never))).toBe("invalid-argument");
  });

  it("refuses records that are not objects, and bad npartitions", () => {
    expect(() => Table.fromRecords(client, [{ a: 1 }, 5 as never])).toThrow(/record 1 is number 5/);
    expect(codeOf(() => Table.fromRecords(client, [{ a: 1 }], { npartitions: 0 }))).toBe(
      "invalid-npartitions",
    );
    expect(codeOf(() => Table.fromRecords(client, []))).toBe("invalid-argument");
    expect(Table.fromRecords(client, [], { columns: ["a"] }).columns).toEqual(["a"]);
  });
});

describe("Table row steps", () => {
  it("fuses filter, withColumn and select into one task per partition", async () => {
    const data = flights(40, 1);
    const table = Table.fromRecords(client, data, { npartitions: 4 })
      .filter((r: Flight) => r.delay !== null && r.delay > 15)
      .withColumn("hours", (r: Flight, speed: number) => r.distance / speed, 800)
      .select("origin", "hours");
    expect(table.columns).toEqual(["origin", "hours"]);
    const { sink } = await RecordingSink.evaluate(table.plan);
    expect(sink.tasks).toHaveLength(4);
    expect(sink.tasks[0]!.name).toBe("table_filter_withColumn_select");
    expect(await rows(table)).toEqual(
      data
        .filter((r) => r.delay !== null && r.delay > 15)
        .map((r) => ({ origin: r.origin, hours: r.distance / 800 })),
    );
  });

  it("replaces a column withColumn names again, in place", async () => {
    const table = Table.fromRecords(client, [{ a: 1, b: 2 }]).withColumn(
      "a",
      (r: { a: number }) => r.a * 10,
    );
    expect(table.columns).toEqual(["a", "b"]);
    expect(await rows(table)).toEqual([{ a: 10, b: 2 }]);
  });

  it("names unknown columns and the columns there are", () => {
    const table = Table.fromRecords(client, flights(5, 2));
    expect(() => table.select("origin", "dest" as never)).toThrow(
      'Table.select uses column "dest", which the table does not have; its columns are: origin, carrier, delay, distance',
    );
    expect(codeOf(() => table.groupBy("dest" as never))).toBe("unknown-column");
    expect(codeOf(() => table.sortBy("dest" as never))).toBe("unknown-column");
    expect(codeOf(() => table.describe("dest" as never))).toBe("unknown-column");
    expect(codeOf(() => table.withColumn("", () => 1))).toBe("invalid-argument");
  });

  it("names the user's free variable in a row predicate", () => {
    const minimum = 10;
    expect(() =>
      Table.fromRecords(client, flights(5, 2)).filter((r: Flight) => r.distance > minimum),
    ).toThrow(FreeVariableError);
  });
});

describe("Table.groupBy().agg()", () => {
  it("aggregates per partition and combines up a tree, like a local group-by", async () => {
    const data = flights(1_000, 5);
    const table = Table.fromRecords(client, data, { npartitions: 10 });
    const result = table.groupBy(["origin", "carrier"]).agg({
      flights: ["delay", "count"],
      total: ["delay", "sum"],
      mean: ["delay", "mean"],
      shortest: ["distance", "min"],
      longest: ["distance", "max"],
    });
    expect(result.columns).toEqual([
      "origin",
      "carrier",
      "flights",
      "total",
      "mean",
      "shortest",
      "longest",
    ]);
    const { sink, values } = await RecordingSink.evaluate(result.plan);
    expect(values).toHaveLength(1);
    expect(sink.tasks.filter((t) => t.name === "table_groupBy_agg_combine")).toHaveLength(3);
    const local = new Map<string, Flight[]>();
    for (const f of data) {
      const id = `${f.origin}/${f.carrier}`;
      local.set(id, [...(local.get(id) ?? []), f]);
    }
    const expected = [...local.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, fs]) => {
        const delays = fs.map((f) => f.delay).filter((d): d is number => d !== null);
        const total = delays.reduce((a, b) => a + b, 0);
        return {
          origin: fs[0]!.origin,
          carrier: fs[0]!.carrier,
          flights: delays.length,
          total,
          mean: total / delays.length,
          shortest: Math.min(...fs.map((f) => f.distance)),
          longest: Math.max(...fs.map((f) => f.distance)),
        };
      });
    const got = await rows(result);
    expect(got.map(({ mean, ...rest }) => rest)).toEqual(expected.map(({ mean, ...rest }) => rest));
    for (const [i, row] of got.entries()) expect(row.mean).toBeCloseTo(expected[i]!.mean, 9);
  });

  it("gives null means and extremes for groups without values, and counts only present values", async () => {
    const table = Table.fromRecords(client, [
      { k: "a", v: null },
      { k: "a", v: undefined },
      { k: "b", v: 2 },
      { k: "b", v: Number.NaN },
    ]);
    expect(
      await rows(
        table
          .groupBy("k")
          .agg({ n: ["v", "count"], s: ["v", "sum"], m: ["v", "mean"], lo: ["v", "min"] }),
      ),
    ).toEqual([
      { k: "a", n: 0, s: 0, m: null, lo: null },
      { k: "b", n: 1, s: 2, m: 2, lo: 2 },
    ]);
  });

  it("rejects bad aggregations with invalid-aggregation", () => {
    const grouped = Table.fromRecords(client, flights(5, 2)).groupBy("origin");
    expect(() => grouped.agg({ x: ["delay", "median" as never] })).toThrow(
      /output "x" must be \[column, aggregation\] with aggregation one of sum, mean, count, min, max/,
    );
    expect(codeOf(() => grouped.agg({}))).toBe("invalid-aggregation");
    expect(codeOf(() => grouped.agg({ origin: ["delay", "sum"] }))).toBe("invalid-aggregation");
    expect(codeOf(() => grouped.agg({ x: ["nope" as never, "sum"] }))).toBe("unknown-column");
  });
});

describe("Table sorting and results", () => {
  it("sorts stably with missing values last, ascending and descending", async () => {
    const data = flights(200, 9);
    const table = Table.fromRecords(client, data, { npartitions: 5 });
    const byDelay = (a: Flight, b: Flight, sign: number) => {
      if (a.delay === null || b.delay === null)
        return a.delay === b.delay ? 0 : a.delay === null ? 1 : -1;
      return sign * (a.delay - b.delay);
    };
    expect(await rows(table.sortBy("delay"))).toEqual([...data].sort((a, b) => byDelay(a, b, 1)));
    expect(await rows(table.sortBy("delay", { descending: true }))).toEqual(
      [...data].sort((a, b) => byDelay(a, b, -1)),
    );
  });

  it("merges every partition's sorted rows into one sorted partition", async () => {
    const table = Table.fromRecords(client, flights(100, 4), { npartitions: 4 }).sortBy(
      "distance",
      {
        descending: true,
      },
    );
    expect(table.npartitions).toBe(1);
    const { values, sink } = await RecordingSink.evaluate(table.plan);
    expect(sink.tasks.map((t) => t.name)).toEqual([
      "table_sortBy",
      "table_sortBy",
      "table_sortBy",
      "table_sortBy",
      "table_sortBy_combine",
    ]);
    const distances = lbRows(values[0] as TablePartition).map((r) => r.distance as number);
    expect(distances).toHaveLength(100);
    expect(distances).toEqual([...distances].sort((a, b) => b - a));
  });

  it("counts rows and describes a numeric column", async () => {
    const data = flights(300, 11);
    const table = Table.fromRecords(client, data, { npartitions: 6 });
    expect(await value(table.count())).toBe(300);
    expect(await value(table.filter((r: Flight) => r.origin === "SFO").count())).toBe(
      data.filter((r) => r.origin === "SFO").length,
    );
    const delays = data.map((r) => r.delay).filter((d): d is number => d !== null);
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
    const std = Math.sqrt(delays.reduce((a, d) => a + (d - mean) ** 2, 0) / (delays.length - 1));
    const described = await value(table.describe("delay"));
    expect(described.count).toBe(delays.length);
    expect(described.mean).toBeCloseTo(mean, 9);
    expect(described.std).toBeCloseTo(std, 9);
    expect(described.min).toBe(Math.min(...delays));
    expect(described.max).toBe(Math.max(...delays));
  });
});
