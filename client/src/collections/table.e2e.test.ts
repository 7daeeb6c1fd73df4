/**
 * Tables against a real LocalCluster (built scheduler and worker CLIs, two workers).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../client.js";
import { LocalCluster } from "../cluster/local-cluster.js";
import { RemoteTaskError } from "../errors.js";
import type { CollectionError } from "./errors.js";
import { type Row, Table } from "./table.js";
import { seededRandom } from "./testing/seeded-random.js";

let cluster: LocalCluster;
let client: Client;

beforeAll(async () => {
  cluster = await LocalCluster.start({ workers: 2, threadsPerWorker: 1 });
  client = await cluster.client({ name: "collections-table-e2e" });
}, 60_000);

afterAll(async () => {
  await cluster?.close();
});

interface Flight extends Row {
  origin: string;
  month: number;
  delay: number | null;
  distance: number;
}

function flights(n: number, seed: number): Flight[] {
  const random = seededRandom(seed);
  const origins = ["SFO", "JFK", "ORD", "ATL", "SEA"];
  return Array.from({ length: n }, () => ({
    origin: origins[Math.floor(random() * origins.length)]!,
    month: 1 + Math.floor(random() * 12),
    delay: random() < 0.05 ? null : Math.round(random() * 180 - 30),
    distance: Math.round(100 + random() * 2900),
  }));
}

describe("Table on a LocalCluster", () => {
  it("aggregates groups across partitions exactly like a local computation", async () => {
    const data = flights(5_000, 2016);
    const table = Table.fromRecords(client, data, { npartitions: 12 });
    const result = await table
      .groupBy("origin")
      .agg({
        flights: ["delay", "count"],
        totalDelay: ["delay", "sum"],
        meanDelay: ["delay", "mean"],
        longest: ["distance", "max"],
      })
      .compute();
    const local = new Map<string, { flights: number; totalDelay: number; longest: number }>();
    for (const f of data) {
      const g = local.get(f.origin) ?? { flights: 0, totalDelay: 0, longest: 0 };
      if (f.delay !== null) {
        g.flights++;
        g.totalDelay += f.delay;
      }
      g.longest = Math.max(g.longest, f.distance);
      local.set(f.origin, g);
    }
    expect(result.map((r) => r.origin)).toEqual([...local.keys()].sort());
    for (const row of result) {
      const g = local.get(row.origin)!;
      expect(row.flights).toBe(g.flights);
      expect(row.totalDelay).toBe(g.totalDelay);
      expect(row.meanDelay).toBeCloseTo(g.totalDelay / g.flights, 9);
      expect(row.longest).toBe(g.longest);
    }
  });

  it("filters, adds a column, sorts and returns the top rows", async () => {
    const data = flights(2_000, 7);
    const table = Table.fromRecords(client, data, { npartitions: 6 })
      .filter((f: Flight) => f.delay !== null && f.delay > 60)
      .withColumn(
        "delayPerMile",
        (f: Flight, scale: number) => (f.delay! * scale) / f.distance,
        1_000,
      );
    const top = await table.sortBy("delayPerMile", { descending: true }).head(5);
    const local = data
      .filter((f) => f.delay !== null && f.delay > 60)
      .map((f) => ({ ...f, delayPerMile: (f.delay! * 1_000) / f.distance }))
      .sort((a, b) => b.delayPerMile - a.delayPerMile)
      .slice(0, 5);
    expect(top).toEqual(local);
    expect(await table.count().compute()).toBe(
      data.filter((f) => f.delay !== null && f.delay > 60).length,
    );
    expect(await table.select("origin", "month").head(3)).toEqual(
      data
        .filter((f) => f.delay !== null && f.delay > 60)
        .slice(0, 3)
        .map((f) => ({ origin: f.origin, month: f.month })),
    );
  });

  it("persists a derived table and describes a column of it", async () => {
    const data = flights(1_000, 3);
    const persisted = await Table.fromRecords(client, data, { npartitions: 4 })
      .withColumn("hours", (f: Flight) => f.distance / 500)
      .persist();
    const described = await persisted.describe("hours").compute();
    const hours = data.map((f) => f.distance / 500);
    const mean = hours.reduce((a, b) => a + b, 0) / hours.length;
    expect(described.count).toBe(1_000);
    expect(described.mean).toBeCloseTo(mean, 9);
    expect(described.max).toBe(Math.max(...hours));
    expect((await persisted.compute()).length).toBe(1_000);
  });

  it("re-throws an error from a row function with the remote stack", async () => {
    const table = Table.fromRecords(client, flights(10, 1)).withColumn(
      "bad",
      function explode(f: Flight) {
        if (f.distance > 0) throw new TypeError("no engines");
        return 0;
      },
    );
    const error = await table.compute().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RemoteTaskError);
    expect((error as RemoteTaskError).message).toMatch(/failed: TypeError: no engines/);
    expect((error as RemoteTaskError).remoteStack).toMatch(/at explode \(/);
  });
});

describe("Table column shortcuts, valueCounts and loc on a LocalCluster", () => {
  const data = flights(3_000, 11);
  const delays = data.map((f) => f.delay).filter((d): d is number => d !== null);

  it("sums, averages and finds min/max of a column like the sequential computation", async () => {
    const table = Table.fromRecords(client, data, { npartitions: 6 });
    expect(await table.sum("delay").compute()).toBe(delays.reduce((a, b) => a + b, 0));
    expect(await table.mean("delay").compute()).toBeCloseTo(
      delays.reduce((a, b) => a + b, 0) / delays.length,
      9,
    );
    expect(await table.min("delay").compute()).toBe(Math.min(...delays));
    expect(await table.max("distance").compute()).toBe(Math.max(...data.map((f) => f.distance)));
    expect(await table.max("origin").compute()).toBe(
      [...new Set(data.map((f) => f.origin))].sort().at(-1),
    );
    const none = table.filter((f) => f.delay === -1_000);
    expect(await none.sum("delay").compute()).toBe(0);
    expect(await none.mean("delay").compute()).toBeNull();
  });

  it("counts values most frequent first, leaving missing values out, like value_counts()", async () => {
    const counts = new Map<number, number>();
    for (const f of data) if (f.delay !== null) counts.set(f.month, (counts.get(f.month) ?? 0) + 1);
    const local = [...counts]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .map(([month, count]) => ({ month, count }));
    const table = Table.fromRecords(client, data, { npartitions: 5 });
    const remote = await table
      .filter((f) => f.delay !== null)
      .valueCounts("month")
      .compute();
    expect(remote).toEqual(local);
    const withMissing = await Table.fromRecords(client, data, { npartitions: 5 })
      .valueCounts("delay")
      .head(1);
    expect(withMissing[0]!.delay).not.toBeNull();
  });

  it("looks rows up by an index value or values with loc, in table order", async () => {
    const indexed = Table.fromRecords(client, data, { npartitions: 4 }).setIndex("origin");
    expect(indexed.index).toBe("origin");
    expect(await indexed.loc("SFO").compute()).toEqual(data.filter((f) => f.origin === "SFO"));
    expect(await indexed.loc(["SEA", "ATL"]).count().compute()).toBe(
      data.filter((f) => f.origin === "SEA" || f.origin === "ATL").length,
    );
    const sfoDelay = await indexed.loc("SFO").mean("delay").compute();
    const sfo = data.filter((f) => f.origin === "SFO" && f.delay !== null);
    expect(sfoDelay).toBeCloseTo(sfo.reduce((a, f) => a + f.delay!, 0) / sfo.length, 9);
    expect(() => Table.fromRecords(client, data).loc("SFO")).toThrow(
      expect.objectContaining({ code: "no-index" }) as CollectionError,
    );
  });
});
