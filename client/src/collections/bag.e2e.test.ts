/**
 * Bags against a real LocalCluster (the built scheduler and worker CLIs: `npx tsc -b
 * scheduler worker` first): two worker processes, so shuffles move data between them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../client.js";
import { LocalCluster } from "../cluster/local-cluster.js";
import { FreeVariableError, RemoteTaskError } from "../errors.js";
import { Bag } from "./bag.js";
import { CollectionError } from "./errors.js";
import { seededRandom } from "./testing/seeded-random.js";

let cluster: LocalCluster;
let client: Client;

beforeAll(async () => {
  cluster = await LocalCluster.start({ workers: 2, threadsPerWorker: 1 });
  client = await cluster.client({ name: "collections-bag-e2e" });
}, 60_000);

afterAll(async () => {
  await cluster?.close();
});

const TEXT = [
  "the quick brown fox jumps over the lazy dog",
  "the dog barks",
  "a fox is quick and the fox is brown",
  "lazy days are the best days",
];

function localWordCount(lines: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines)
    for (const w of line.split(" ")) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

describe("Bag on a LocalCluster", () => {
  it("counts words over text with flatMap and frequencies", async () => {
    const counts = await Bag.from(client, TEXT, { npartitions: 3 })
      .flatMap((line: string) => line.split(" "))
      .frequencies()
      .compute();
    expect(new Map(counts)).toEqual(localWordCount(TEXT));
    const top = await Bag.from(client, TEXT, { npartitions: 3 })
      .flatMap((line: string) => line.split(" "))
      .frequencies()
      .topK(2, ([, n]: [string, number]) => n)
      .compute();
    expect(top).toEqual([
      ["the", 5],
      ["fox", 3],
    ]);
  });

  it("groups random records by key with a shuffle, like a local group-by", async () => {
    const random = seededRandom(42);
    const records = Array.from({ length: 2_000 }, (_, i) => ({
      id: i,
      key: `k${Math.floor(random() * 37)}`,
      value: Math.floor(random() * 1000),
    }));
    const grouped = await Bag.from(client, records, { npartitions: 7 })
      .groupBy((r: { key: string }) => r.key, { npartitions: 5 })
      .compute();
    const local = new Map<string, number[]>();
    for (const r of records) local.set(r.key, [...(local.get(r.key) ?? []), r.id]);
    expect(grouped).toHaveLength(local.size);
    const remote = new Map(
      grouped.map(([key, items]) => [key, items.map((r) => r.id).sort((a, b) => a - b)]),
    );
    expect(remote).toEqual(local);
  });
});
