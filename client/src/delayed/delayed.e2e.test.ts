/**
 * `delayed` graphs against a real LocalCluster: results equal the same calls made
 * sequentially in memory (seeded random graphs), shared calls run once, deep chains work.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../client.js";
import { LocalCluster } from "../cluster/local-cluster.js";
import { seededRandom } from "../collections/testing/seeded-random.js";
import { FreeVariableError, LaunchbayError, RemoteTaskError } from "../errors.js";
import { compute, Delayed, delayed } from "./delayed.js";

let cluster: LocalCluster;
let client: Client;

beforeAll(async () => {
  cluster = await LocalCluster.start({ workers: 2, threadsPerWorker: 1 });
  client = await cluster.client({ name: "delayed-e2e" });
}, 60_000);

afterAll(async () => {
  await cluster?.close();
});

const inc = (x: number) => x + 1;
const add = (a: number, b: number) => a + b;
const mul = (a: number, b: number) => a * b;
const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

describe("delayed on a LocalCluster", () => {
  it("computes the dask tutorial's inc/add graph", async () => {
    const dInc = delayed(client, inc);
    const dAdd = delayed(client, add);
    const total = dAdd(dInc(1), dInc(2));
    expect(total).toBeInstanceOf(Delayed);
    expect(String(total)).toBe("Delayed(add)");
    expect(await total.compute()).toBe(5);
    const dSum = delayed(client, sum);
    expect(await dSum([1, 2, 3].map((x) => dInc(x))).compute()).toBe(9);
  });

  it("runs a call reached twice once, across the outputs of one compute", async () => {
    const rand = delayed(client, () => Math.random())();
    const pair = delayed(client, (a: number, b: number) => [a, b])(rand, rand);
    const [r, [a, b]] = await compute(rand, pair);
    expect(a).toBe(r);
    expect(b).toBe(r);
    // A new compute runs the graph again (nothing is kept between computes).
    const again = await rand.compute();
    expect(again).not.toBe(r);
  });

  it("equals the sequential computation on seeded random graphs", async () => {
    const fns = { add, mul, sum, inc };
    const d = {
      add: delayed(client, add),
      mul: delayed(client, mul),
      sum: delayed(client, sum),
      inc: delayed(client, inc),
    };
    for (const seed of [1, 2, 3, 4]) {
      const random = seededRandom(seed);
      const pickIndex = (n: number) => Math.floor(random() * n);
      const local: number[] = [];
      const lazy: Delayed<number>[] = [];
      for (let i = 0; i < 40; i++) {
        const choice = i < 4 ? 0 : 1 + pickIndex(4);
        const a = pickIndex(Math.max(1, i));
        const b = pickIndex(Math.max(1, i));
        if (choice === 0) {
          const c = pickIndex(10);
          local.push(fns.inc(c));
          lazy.push(d.inc(c));
        } else if (choice === 1) {
          local.push(fns.add(local[a]!, local[b]!));
          lazy.push(d.add(lazy[a]!, lazy[b]!));
        } else if (choice === 2) {
          local.push(fns.mul(local[a]! % 97, 3));
          lazy.push(delayed(client, (x: number) => (x % 97) * 3)(lazy[a]!));
        } else if (choice === 3) {
          const picks = [a, b, pickIndex(i)];
          local.push(fns.sum(picks.map((k) => local[k]!)));
          lazy.push(d.sum(picks.map((k) => lazy[k]!)));
        } else {
          local.push(fns.add(local[a]!, 7));
          lazy.push(d.add(lazy[a]!, 7));
        }
      }
      const outputs = [lazy[39]!, lazy[20]!, lazy[5]!];
      expect(await compute(...outputs)).toEqual([local[39], local[20], local[5]]);
    }
  });

  it("computes a chain of 1000 dependent calls in order", async () => {
    const dInc = delayed(client, inc);
    const double = delayed(client, (x: number) => (x * 2) % 1_000_003);
    let x: Delayed<number> = dInc(0);
    let local = inc(0);
    for (let i = 1; i < 1000; i++) {
      x = i % 2 ? double(x) : dInc(x);
      local = i % 2 ? (local * 2) % 1_000_003 : inc(local);
    }
    expect(await x.compute()).toBe(local);
  });

  it("takes futures and delayed values nested in arrays and objects, and get() picks a part", async () => {
    const f = client.submit(() => 10);
    const dInc = delayed(client, inc);
    const combine = delayed(client, (o: { a: number; list: number[] }) => ({
      total: o.a + o.list.reduce((s, x) => s + x, 0),
      parts: o.list.length,
    }));
    const out = combine({ a: f, list: [dInc(1), dInc(f), 5] });
    expect(await out.compute()).toEqual({ total: 10 + 2 + 11 + 5, parts: 3 });
    expect(await out.get("total").compute()).toBe(28);
    const pair = delayed(client, (x: number) => [x, x * 2] as [number, number])(dInc(1));
    expect(await compute(pair.get(0), pair.get(1))).toEqual([2, 4]);
  });

  it("fails where the mistake is: free variables when wrapping, a throwing task at compute", async () => {
    const offset = 3;
    expect(() => delayed(client, (x: number) => x + offset)).toThrow(FreeVariableError);
    // Control: the same function with its helper listed in `uses` works.
    expect(
      await delayed(client, (x: number) => x + offset, { uses: { offset } })(1).compute(),
    ).toBe(4);
    const boom = delayed(client, (x: number) => {
      if (x > 1) throw new RangeError(`too big: ${x}`);
      return x;
    });
    const dInc = delayed(client, inc);
    await expect(dInc(boom(dInc(1))).compute()).rejects.toThrow(RemoteTaskError);
    await expect(dInc(boom(dInc(1))).compute()).rejects.toThrow(/RangeError: too big: 2/);
    expect(() => delayed(client, inc, { key: "k" } as never)).toThrow(/invalid delayed options/);
    expect(() => dInc(new Map([["x", dInc(1)]]) as never)).toThrow(LaunchbayError);
    await expect(compute(5 as never)).rejects.toThrow(/compute takes Delayed values/);
  });

  it("refuses graphs that mix clients", async () => {
    const other = await cluster.client({ name: "delayed-e2e-other" });
    try {
      const a = delayed(client, inc)(1);
      const b = delayed(other, inc)(1);
      expect(() => delayed(other, add)(a, b)).toThrow(/made with another client/);
      await expect(compute(a, b)).rejects.toThrow(/different clients/);
      expect(await compute(b)).toEqual([2]);
    } finally {
      await other.close();
    }
  });
});
