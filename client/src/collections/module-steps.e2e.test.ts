/**
 * Functions of an uploaded module (`client.uploadModule`) as Bag and Table steps, against
 * a real LocalCluster: results equal the same steps run in memory with the same module.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../client.js";
import { LocalCluster } from "../cluster/local-cluster.js";
import { delayed } from "../delayed/delayed.js";
import { Bag } from "./bag.js";
import { CollectionError } from "./errors.js";
import { Table } from "./table.js";
import { seededRandom } from "./testing/seeded-random.js";

let cluster: LocalCluster;
let client: Client;
let scratch: string;

interface Helpers {
  square: (x: number) => number;
  isEven: (x: number) => boolean;
  parity: (x: number) => string;
  add: (a: number, b: number) => number;
  scale: (x: number, k: number) => number;
  bucket: (row: { v: number }) => string;
  big: (row: { v: number }) => boolean;
}

const HELPERS =
  "const factor = 3;\n" + // module state the functions close over
  "export const square = (x: number): number => x * x;\n" +
  "export function isEven(x: number): boolean { return x % 2 === 0; }\n" +
  'export const parity = (x: number): string => (isEven(x) ? "even" : "odd");\n' +
  "export const add = (a: number, b: number): number => a + b;\n" +
  "export const scale = (x: number, k: number): number => x * k * factor;\n" +
  'export const bucket = (row: { v: number }): string => (row.v < 50 ? "low" : "high");\n' +
  "export const big = async (row: { v: number }): Promise<boolean> => row.v > 20;\n";

const OTHER = "export const negate = (x: number): number => -x;\n";

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "lb-module-steps-"));
  writeFileSync(join(scratch, "helpers.ts"), HELPERS);
  writeFileSync(join(scratch, "other.ts"), OTHER);
  cluster = await LocalCluster.start({ workers: 2, threadsPerWorker: 1 });
  client = await cluster.client({ name: "collections-module-steps-e2e" });
}, 60_000);

afterAll(async () => {
  await cluster?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("uploaded module functions as collection steps", () => {
  it("maps, filters, groups and folds a seeded random bag with module functions, like in memory", async () => {
    const mod = await client.uploadModule<Helpers>(join(scratch, "helpers.ts"));
    const local = (await import(pathToFileURL(join(scratch, "helpers.ts")).href)) as Helpers;
    const { square, isEven, parity, add, scale } = mod.functions;
    const random = seededRandom(11);
    const items = Array.from({ length: 300 }, () => Math.floor(random() * 1000));
    const bag = Bag.from(client, items, { npartitions: 5 });

    expect(await bag.map(square).filter(isEven).compute()).toEqual(
      items.map(local.square).filter(local.isEven),
    );
    expect(await bag.map(scale, 2).compute()).toEqual(items.map((x) => local.scale(x, 2)));
    expect(await bag.fold(add, 0).compute()).toBe(items.reduce(local.add, 0));

    const groups = new Map(await bag.groupBy(parity).compute());
    const expected = new Map<string, number[]>();
    for (const x of items)
      expected.set(local.parity(x), [...(expected.get(local.parity(x)) ?? []), x]);
    expect(new Map([...groups].map(([k, v]) => [k, [...v].sort((a, b) => a - b)]))).toEqual(
      new Map([...expected].map(([k, v]) => [k, [...v].sort((a, b) => a - b)])),
    );
    // A module step beside a plain function in one fused task.
    expect(
      await bag
        .map((x: number) => x + 1)
        .map(square)
        .compute(),
    ).toEqual(items.map((x) => local.square(x + 1)));
  });

  it("uses module functions as Table filter and withColumn steps", async () => {
    const mod = await client.uploadModule<Helpers>(join(scratch, "helpers.ts"));
    const local = (await import(pathToFileURL(join(scratch, "helpers.ts")).href)) as Helpers;
    const random = seededRandom(5);
    const rows = Array.from({ length: 200 }, (_, id) => ({ id, v: Math.floor(random() * 100) }));
    const table = Table.fromRecords(client, rows, { npartitions: 4 });
    const out = await table
      .filter(mod.functions.big)
      .withColumn("bucket", mod.functions.bucket)
      .compute();
    expect(out).toEqual(
      rows.filter((r) => r.v > 20).map((r) => ({ ...r, bucket: local.bucket(r) })),
    );
  });

  it("uses module functions in a delayed graph", async () => {
    const mod = await client.uploadModule<Helpers>(join(scratch, "helpers.ts"));
    const square = delayed(client, mod.functions.square);
    const add = delayed(client, mod.functions.add);
    expect(await add(square(3), square(4)).compute()).toBe(25);
  });

  it("runs steps from two different modules (a step boundary between them)", async () => {
    const a = await client.uploadModule<Helpers>(join(scratch, "helpers.ts"));
    const b = await client.uploadModule<{ negate: (x: number) => number }>(
      join(scratch, "other.ts"),
    );
    const items = [1, 2, 3, 4, 5, 6];
    const bag = Bag.from(client, items, { npartitions: 2 });
    expect(await bag.map(a.functions.square).map(b.functions.negate).compute()).toEqual(
      items.map((x) => -x * x),
    );
  });

  it("refuses one step that needs functions of two different modules, saying what to do", async () => {
    const a = await client.uploadModule<Helpers>(join(scratch, "helpers.ts"));
    const b = await client.uploadModule<{ negate: (x: number) => number }>(
      join(scratch, "other.ts"),
    );
    const bag = Bag.from(client, [1, 2, 3], { npartitions: 2 });
    const binop = b.functions.negate as unknown as (acc: number, x: number) => number;
    expect(() => bag.foldBy(a.functions.parity, binop, 0)).toThrow(CollectionError);
    expect(() => bag.foldBy(a.functions.parity, binop, 0)).toThrow(
      /two uploaded modules.*helpers\.ts.*other\.ts/s,
    );
    // Control: both functions from one module work in the same step.
    const local = (await import(pathToFileURL(join(scratch, "helpers.ts")).href)) as Helpers;
    expect(new Map(await bag.foldBy(a.functions.parity, a.functions.add, 0).compute())).toEqual(
      new Map([
        [local.parity(1), 4],
        [local.parity(2), 2],
      ]),
    );
  });
});
