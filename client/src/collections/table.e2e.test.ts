/**
 * Tables against a real LocalCluster (built scheduler and worker CLIs, two workers).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../client.js";
import { LocalCluster } from "../cluster/local-cluster.js";
import { RemoteTaskError } from "../errors.js";
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
