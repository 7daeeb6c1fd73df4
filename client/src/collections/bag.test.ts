import { describe, expect, it } from "vitest";
import { FreeVariableError } from "../errors.js";
import { RemoteModule } from "../modules/remote-module.js";
import { Bag } from "./bag.js";
import type { CollectionError } from "./errors.js";
import type { Scalar } from "./scalar.js";
import type { Plan } from "./plan.js";
import { RecordingSink } from "./testing/recording-sink.js";
import { seededRandom } from "./testing/seeded-random.js";
import { standInClient } from "./testing/stand-in-client.js";

const client = standInClient();

async function items<T>(bag: Bag<T>): Promise<T[]> {
  const { values } = await RecordingSink.evaluate(bag.plan);
  return (values as T[][]).flat();
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

const numbers = (n: number, npartitions: number) =>
  Bag.from(
    client,
    Array.from({ length: n }, (_, i) => i),
    { npartitions },
  );

describe("Bag graph construction", () => {
  it("fuses map, filter and flatMap into one task per partition, named after the steps", async () => {
    const bag = Bag.from(client, [1, 2, 3, 4, 5, 6], { npartitions: 3 })
      .map(function tenfold(x: number) {
        return x * 10;
      })
      .filter((x: number) => x !== 20)
      .flatMap((x: number) => [x, x + 1]);
    const { values, sink } = await RecordingSink.evaluate(bag.plan);
    expect(sink.tasks).toHaveLength(3);
    expect(sink.tasks[0]!.name).toBe("bag_map_tenfold_filter_flatMap");
    expect(sink.tasks.every((t) => t.deps.length === 0)).toBe(true);
    expect((values as number[][]).flat()).toEqual([10, 11, 30, 31, 40, 41, 50, 51, 60, 61]);
  });

  it("runs no task for a bag of items without steps", async () => {
    const { values, sink } = await RecordingSink.evaluate(Bag.from(client, [1, 2, 3]).plan);
    expect(sink.tasks).toHaveLength(0);
    expect((values as number[][]).flat()).toEqual([1, 2, 3]);
  });

  it("splits items evenly and caps partitions at one per item", () => {
    expect(numbers(10, 4).npartitions).toBe(4);
    expect(numbers(3, 8).npartitions).toBe(3);
    expect(Bag.from(client, []).npartitions).toBe(1);
    expect(numbers(100, 3).toString()).toBe("Bag(npartitions=3)");
  });

  it("passes extra arguments to user functions, so they need no outside variables", async () => {
    const bag = numbers(6, 2)
      .map((x: number, factor: number, offset: number) => x * factor + offset, 3, 1)
      .filter((x: number, limit: number) => x < limit, 12);
    expect(await items(bag)).toEqual([1, 4, 7, 10]);
    expect(await items(Bag.from(client, [{ name: "a" }, { name: "b" }]).pluck("name"))).toEqual([
      "a",
      "b",
    ]);
  });

  it("awaits async user functions", async () => {
    const bag = numbers(4, 2)
      .map(async (x: number) => x + 1)
      .filter(async (x: number) => x % 2 === 0);
    expect(await items(bag)).toEqual([2, 4]);
    expect(await value(numbers(4, 2).fold(async (a: number, x: number) => a + x, 0))).toBe(6);
  });

  it("generates ranges on the workers", async () => {
    const bag = Bag.range(client, 10, { npartitions: 3 });
    const { values, sink } = await RecordingSink.evaluate(bag.plan);
    expect(sink.tasks.map((t) => t.name)).toEqual(["bag_range", "bag_range", "bag_range"]);
    expect(values).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ]);
  });

  it("composes the same source for the same steps, so the function is defined once", () => {
    const a = numbers(4, 2).map((x: number) => x + 1).plan;
    const b = numbers(8, 4).map((x: number) => x + 1).plan;
    expect(a.kind === "partitions" && b.kind === "partitions").toBe(true);
    if (a.kind === "partitions" && b.kind === "partitions") expect(a.fn).toBe(b.fn);
  });
});

describe("Bag.groupBy", () => {
  it("shuffles: a split per input partition, a pick per (input, output) and a merge per output", async () => {
    const bag = numbers(30, 3).groupBy((x: number) => x % 4, { npartitions: 2 });
    const { sink } = await RecordingSink.evaluate(bag.plan);
    const names = sink.tasks.map((t) => t.name);
    expect(names.filter((n) => n.startsWith("bag_groupBy"))).toHaveLength(3);
    expect(names.filter((n) => n === "bag_shuffle_pick")).toHaveLength(6);
    expect(names.filter((n) => n === "bag_shuffle_merge")).toHaveLength(2);
    for (const task of sink.tasks.filter((t) => t.name === "bag_shuffle_pick")) {
      expect(task.deps).toHaveLength(1);
      expect(sink.tasks[task.deps[0]!]!.name).toMatch(/^bag_groupBy/);
    }
    for (const task of sink.tasks.filter((t) => t.name === "bag_shuffle_merge")) {
      expect(task.deps.map((d) => sink.tasks[d]!.name)).toEqual([
        "bag_shuffle_pick",
        "bag_shuffle_pick",
        "bag_shuffle_pick",
      ]);
    }
  });

  it("groups random data exactly like a local group-by, each key in one output partition", async () => {
    const random = seededRandom(7);
    const data = Array.from({ length: 500 }, () => ({
      key: ["a", "b", "c", 1, 2, null, [1, "x"]][Math.floor(random() * 7)],
      v: Math.floor(random() * 100),
    }));
    const bag = Bag.from(client, data, { npartitions: 6 }).groupBy((r: { key: unknown }) => r.key, {
      npartitions: 4,
    });
    const { values } = await RecordingSink.evaluate(bag.plan);
    const partitions = values as [unknown, { v: number }[]][][];
    const keysPerPartition = partitions.map((p) => p.map(([k]) => JSON.stringify(k)));
    const allKeys = keysPerPartition.flat();
    expect(new Set(allKeys).size).toBe(allKeys.length);
    const local = new Map<string, number[]>();
    for (const r of data) {
      const id = JSON.stringify(r.key);
      local.set(id, [...(local.get(id) ?? []), r.v]);
    }
    const remote = new Map(
      partitions.flat().map(([k, rs]) => [JSON.stringify(k), rs.map((r) => r.v)]),
    );
    expect(remote).toEqual(local);
  });
});

describe("Bag reductions", () => {
  it("reduces up a tree, splitEvery partials per combine task", async () => {
    const scalar = numbers(100, 20).fold((a: number, x: number) => a + x, 0, undefined, {
      splitEvery: 4,
    });
    const { sink } = await RecordingSink.evaluate(scalar.plan);
    const combines = sink.tasks.filter((t) => t.name.startsWith("bag_fold_combine"));
    expect(combines.map((t) => t.deps.length)).toEqual([4, 4, 4, 4, 4, 4, 1, 2]);
    expect(await value(scalar)).toBe(4950);
  });

  it("counts, sums, averages and finds extremes", async () => {
    const bag = numbers(10, 3);
    expect(await value(bag.count())).toBe(10);
    expect(await value(bag.sum())).toBe(45);
    expect(await value(bag.mean())).toBe(4.5);
    expect(await value(bag.min())).toBe(0);
    expect(await value(Bag.from(client, ["pear", "apple", "zucchini"]).max())).toBe("zucchini");
    expect(await value(bag.reduce((a: number, b: number) => a * 2 + b))).toBeTypeOf("number");
    expect(
      await value(
        bag.reduction(
          (xs: number[]) => xs.length,
          (counts: number[]) => counts.reduce((a, b) => a + b, 0),
        ),
      ),
    ).toBe(10);
  });

  it("uses the initial value per partition and combine across partitions", async () => {
    const lists = numbers(6, 3).fold(
      (acc: number[], x: number) => [...acc, x],
      [],
      (a: number[], b: number[]) => [...a, ...b],
    );
    expect(await value(lists)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("says an empty bag has no reduce/min/mean value, and folds it to the initial value", async () => {
    const empty = numbers(10, 3).filter((x: number) => x > 100);
    await expect(value(empty.reduce((a: number, b: number) => a + b))).rejects.toMatchObject({
      code: "empty-collection",
    });
    await expect(value(empty.mean())).rejects.toMatchObject({ code: "empty-collection" });
    expect(await value(empty.fold((a: number, x: number) => a + x, 0))).toBe(0);
    expect(await value(empty.count())).toBe(0);
  });

  it("folds by key like a local computation, copying the initial value per key", async () => {
    const random = seededRandom(3);
    const words = Array.from(
      { length: 300 },
      () => ["ant", "bee", "cat", "dog"][Math.floor(random() * 4)]!,
    );
    const bag = Bag.from(client, words, { npartitions: 5 }).foldBy(
      (w: string) => w[0],
      (acc: string[], w: string) => {
        acc.push(w);
        return acc;
      },
      [] as string[],
      (a: string[], b: string[]) => a.concat(b),
    );
    const result = new Map(await items(bag));
    for (const letter of ["a", "b", "c", "d"]) {
      expect(result.get(letter)).toEqual(words.filter((w) => w[0] === letter));
    }
  });

  it("counts frequencies, finds distinct items (also by key) and the top k", async () => {
    const bag = Bag.from(client, ["a", "b", "a", "c", "a", "b"], { npartitions: 4 });
    expect(new Map(await items(bag.frequencies()))).toEqual(
      new Map([
        ["a", 3],
        ["b", 2],
        ["c", 1],
      ]),
    );
    expect((await items(bag.distinct())).sort()).toEqual(["a", "b", "c"]);
    const records = Bag.from(client, [{ id: 1 }, { id: 2 }, { id: 1 }, { id: 3 }], {
      npartitions: 2,
    });
    expect(
      (await items(records.distinct((r: { id: number }) => r.id))).map((r) => r.id).sort(),
    ).toEqual([1, 2, 3]);
    expect(await items(numbers(50, 7).topK(3))).toEqual([49, 48, 47]);
    expect(await items(numbers(50, 7).topK(2, (x: number) => -x))).toEqual([0, 1]);
  });
});

describe("Bag.product", () => {
  it("pairs every partition of one bag with every partition of the other", async () => {
    const left = Bag.from(client, [1, 2, 3], { npartitions: 3 }).map((x: number) => x * 10);
    const right = Bag.from(client, ["a", "b"], { npartitions: 2 });
    const pairs = left.product(right);
    expect(pairs.npartitions).toBe(6);
    const { values, sink } = await RecordingSink.evaluate(pairs.plan);
    expect(sink.tasks.filter((t) => t.name.startsWith("bag_map"))).toHaveLength(3);
    expect((values as unknown[][]).flat()).toEqual([
      [10, "a"],
      [10, "b"],
      [20, "a"],
      [20, "b"],
      [30, "a"],
      [30, "b"],
    ]);
  });

  it("builds a bag used twice in one graph once", async () => {
    const bag = numbers(4, 2).map((x: number) => x + 1);
    const { sink } = await RecordingSink.evaluate(bag.product(bag).plan);
    expect(sink.tasks.filter((t) => t.name.startsWith("bag_map"))).toHaveLength(2);
    expect(sink.tasks.filter((t) => t.name === "bag_product")).toHaveLength(4);
  });

  it("refuses bags of different clients", () => {
    const other = Bag.from(standInClient(), [1]);
    expect(codeOf(() => numbers(2, 1).product(other))).toBe("different-clients");
  });
});

describe("Bag input checks", () => {
  it("rejects bad npartitions with invalid-npartitions and says what is allowed", () => {
    for (const npartitions of [0, -1, 1.5, Number.NaN, "4"]) {
      expect(() => Bag.from(client, [1], { npartitions: npartitions as number })).toThrow(
        /npartitions must be an integer from 1 to 100000/,
      );
      expect(codeOf(() => Bag.range(client, 5, { npartitions: npartitions as number }))).toBe(
        "invalid-npartitions",
      );
    }
    expect(codeOf(() => numbers(4, 2).groupBy((x: number) => x, { npartitions: 0 }))).toBe(
      "invalid-npartitions",
    );
  });

  it("rejects unknown options, non-iterables, non-clients and non-functions", () => {
    expect(codeOf(() => Bag.from(client, [1], { partitions: 2 } as never))).toBe(
      "invalid-argument",
    );
    expect(codeOf(() => Bag.from(client, 42 as never))).toBe("invalid-argument");
    expect(codeOf(() => Bag.from({} as never, [1]))).toBe("invalid-argument");
    expect(codeOf(() => Bag.range(client, -3))).toBe("invalid-argument");
    expect(() => numbers(2, 1).map("x => x" as never)).toThrow(
      /Bag\.map expects a function, got the string/,
    );
    expect(codeOf(() => numbers(2, 1).topK(1.5))).toBe("invalid-argument");
    expect(codeOf(() => Bag.fromFutures(client, [[1, 2]] as never))).toBe("invalid-argument");
    expect(codeOf(() => Bag.fromFutures(client, []))).toBe("invalid-argument");
  });

  it("names the user's free variable and function when the step is added, before anything runs", () => {
    const threshold = 3;
    try {
      numbers(4, 2).filter(function aboveThreshold(x: number) {
        return x > threshold;
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(FreeVariableError);
      expect((error as FreeVariableError).variables).toEqual(["threshold"]);
      expect((error as Error).message).toMatch(
        /^function `aboveThreshold` uses `threshold` from the notebook/,
      );
    }
  });

  it("runs a step with a function of an uploaded module through that module, fused with plain steps", () => {
    const module = new RemoteModule({
      hash: "a".repeat(64),
      name: "helpers.ts",
      code: "",
      exports: ["parse"],
    });
    const plan = numbers(2, 1)
      .map((x: number) => x + 1)
      .map(module.fn("parse")).plan;
    expect(plan.kind).toBe("partitions");
    const fn = (plan as Extract<Plan, { kind: "partitions" }>).fn;
    expect(fn.module?.hash).toBe("a".repeat(64));
    expect(fn.source).toContain('$lb_module["parse"]');
    expect(fn.name).toBe("bag_map_map_parse");
  });
});
