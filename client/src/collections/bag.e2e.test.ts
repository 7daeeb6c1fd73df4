/**
 * Bags against a real LocalCluster (the built scheduler and worker CLIs: `npx tsc -b
 * scheduler worker` first): two worker processes, so shuffles move data between them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../client.js";
import { LocalCluster } from "../cluster/local-cluster.js";
import { FreeVariableError, RemoteTaskError } from "../errors.js";
import { withHelpers } from "../shipping/with-helpers.js";
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
  it("counts words over text with flatMap and frequencies, and finds the most common", async () => {
    const words = Bag.from(client, TEXT, { npartitions: 3 }).flatMap((line: string) =>
      line.split(" "),
    );
    expect(new Map(await words.frequencies().compute())).toEqual(localWordCount(TEXT));
    const top = await words
      .frequencies()
      .topK(2, ([, n]: [string, number]) => n)
      .compute();
    expect(top).toEqual([
      ["the", 5],
      ["fox", 3],
    ]);
    expect(await words.count().compute()).toBe(TEXT.join(" ").split(" ").length);
  });

  it("groups seeded random records with a shuffle across both workers, like a local group-by", async () => {
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
    const info = await client.info();
    expect(info.workers.length).toBe(2);
  });

  it("folds by key, reduces and averages over generated ranges", async () => {
    const numbers = Bag.range(client, 1_000, { npartitions: 9 });
    expect(await numbers.sum().compute()).toBe(499_500);
    expect(await numbers.mean().compute()).toBe(499.5);
    expect(await numbers.max().compute()).toBe(999);
    const byDigit = await numbers
      .foldBy(
        (x: number) => x % 10,
        (acc: number, x: number) => acc + x,
        0,
      )
      .compute();
    const local = new Map<number, number>();
    for (let x = 0; x < 1_000; x++) local.set(x % 10, (local.get(x % 10) ?? 0) + x);
    expect(new Map(byDigit)).toEqual(local);
  });

  it("pairs two bags with product and keeps distinct results", async () => {
    const pairs = Bag.from(client, [1, 2, 3], { npartitions: 2 }).product(
      Bag.from(client, [10, 20], { npartitions: 2 }),
    );
    const sums = await pairs
      .map(([a, b]: [number, number]) => a + b)
      .distinct()
      .compute();
    expect(sums.sort((a, b) => a - b)).toEqual([11, 12, 13, 21, 22, 23]);
  });

  it("persists partitions on the workers and takes the first items of a later pipeline", async () => {
    const persisted = await Bag.range(client, 100, { npartitions: 4 })
      .map((x: number) => x * x)
      .persist();
    expect(persisted.npartitions).toBe(4);
    expect(await persisted.take(3)).toEqual([0, 1, 4]);
    expect(await persisted.filter((x: number) => x > 9_000).take(2)).toEqual([9_025, 9_216]);
    expect(await persisted.count().compute()).toBe(100);
  });

  it("holds no future once a compute is done, however many intermediate tasks it had", async () => {
    // The client hands releases to the scheduler in one batch on the next setImmediate.
    const nextTick = () => new Promise((resolve) => setImmediate(resolve));
    await nextTick();
    const before = client.heldKeys;
    const grouped = await Bag.range(client, 500, { npartitions: 6 })
      .groupBy((x: number) => x % 7)
      .map(([key, xs]: [number, number[]]) => [key, xs.length])
      .compute();
    expect(grouped).toHaveLength(7);
    await nextTick();
    expect(client.heldKeys).toBe(before);
  });

  it("starts from partitions already on the cluster", async () => {
    const chunks = client.map((n: number) => Array.from({ length: n }, (_, i) => i), [3, 4]);
    expect(await Bag.fromFutures(client, chunks).sum().compute()).toBe(0 + 1 + 2 + 0 + 1 + 2 + 3);
  });

  it("names the user's free variable, not the composed task function", () => {
    const wordsToSkip = new Set(["the"]);
    try {
      Bag.from(client, TEXT).filter((word: string) => !wordsToSkip.has(word));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(FreeVariableError);
      expect((error as FreeVariableError).variables).toEqual(["wordsToSkip"]);
      expect((error as Error).message).toContain("uses `wordsToSkip` from the notebook");
      expect((error as Error).message).toContain(
        "Bag.filter passes extra arguments on to the function: bag.filter((item, wordsToSkip) => ..., wordsToSkip)",
      );
      expect((error as Error).message).not.toContain("$lb_");
    }
  });

  it("re-throws a failing user function with its message and the remote stack", async () => {
    function parseRecord(line: string): { n: number } {
      if (line === "bad") throw new RangeError(`cannot parse ${JSON.stringify(line)}`);
      return { n: line.length };
    }
    const bag = Bag.from(client, ["ok", "fine", "bad", "good"], { npartitions: 2 }).map(
      parseRecord,
    );
    const error = await bag.compute().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RemoteTaskError);
    const remote = error as RemoteTaskError;
    expect(remote.remoteName).toBe("RangeError");
    expect(remote.message).toMatch(
      /task bag_map_parseRecord-[0-9a-f]+ failed: RangeError: cannot parse "bad"/,
    );
    expect(remote.remoteStack).toMatch(/at parseRecord \(/);
    expect(remote.message).toContain("--- remote stack ---");
  });

  it("says the client is closed when a bag computes after its client closed", async () => {
    const other = await cluster.client({ name: "collections-closed" });
    const bag = Bag.range(other, 10).map((x: number) => x + 1);
    await other.close();
    const error = await bag.compute().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CollectionError);
    expect((error as CollectionError).code).toBe("client-closed");
    expect((error as Error).message).toMatch(/connect a new client/);
  });

  it("orders tuples like Python on the cluster: the issue's max, min and topK examples", async () => {
    const letters = Bag.from(
      client,
      [
        [10, "a"],
        [9, "b"],
        [2, "c"],
      ],
      { npartitions: 2 },
    );
    expect(await letters.max().compute()).toEqual([10, "a"]);
    expect(await letters.min().compute()).toEqual([2, "c"]);
    expect(await letters.topK(2).compute()).toEqual([
      [10, "a"],
      [9, "b"],
    ]);
    const negative = Bag.from(client, [
      [-0.1, "a"],
      [-0.9, "b"],
    ]);
    expect(await negative.max().compute()).toEqual([-0.1, "a"]);
    expect(await negative.min().compute()).toEqual([-0.9, "b"]);
  });

  it("refuses to order a number and a string, with a stable code and both values named", async () => {
    const error = await Bag.from(client, [3, "x", 1], { npartitions: 2 })
      .max()
      .compute()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(CollectionError);
    expect((error as CollectionError).code).toBe("unorderable-values");
    expect((error as Error).message).toMatch(/cannot order the (number \d|string "x") and the/);
    expect((error as Error).cause).toBeInstanceOf(RemoteTaskError);
    const keyError = await Bag.from(client, [new Map([[1, 2]])])
      .distinct()
      .compute()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((keyError as CollectionError).code).toBe("unhashable-key");
  });

  it("runs a step whose helpers travel with it (withHelpers), like the sequential computation", async () => {
    const STOP = new Set(["the", "a", "is", "and", "are"]);
    const STOP_WORDS = [...STOP];
    function words(line: string): string[] {
      return line.split(" ").filter((w) => !STOP_WORDS.includes(w));
    }
    const local = TEXT.flatMap((line) => line.split(" ").filter((w) => !STOP.has(w)));
    const remote = await Bag.from(client, TEXT, { npartitions: 2 })
      .flatMap(withHelpers((line: string) => words(line), { words, STOP_WORDS }))
      .compute();
    expect(remote).toEqual(local);
  });
});
