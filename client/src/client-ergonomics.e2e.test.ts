/**
 * The client's conveniences against a real LocalCluster (the built launchbay-scheduler and
 * launchbay-worker CLIs, `npx tsc -b scheduler worker` first): awaitable futures, gather
 * of Maps and Sets, scattering one value, ... Results are checked against the same
 * computation done in this process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "./client.js";
import { LocalCluster } from "./cluster/local-cluster.js";
import { type LaunchbayError, RemoteTaskError, TimeoutError } from "./errors.js";
import { Bag } from "./collections/bag.js";
import { Future } from "./futures/future.js";
import { progress } from "./progress/progress.js";

let cluster: LocalCluster;
let client: Client;

beforeAll(async () => {
  cluster = await LocalCluster.start({ workers: 2, threadsPerWorker: 1 });
  client = await cluster.client({ name: "client-ergonomics-e2e" });
}, 60_000);

afterAll(async () => {
  await cluster?.close();
});

function rejection(promise: PromiseLike<unknown>): Promise<unknown> {
  return Promise.resolve(promise).then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe("awaitable futures", () => {
  it("gives the task's value on await, like result()", async () => {
    const square = (x: number) => x * x;
    expect(await client.submit(square, 7)).toBe(49);
    const futures = client.map(square, [1, 2, 3, 4]);
    expect(await Promise.all(futures)).toEqual([1, 4, 9, 16]);
    expect(await futures[2]!.then((v) => v + 1)).toBe(10);
  });

  it("rejects an await with the task's error", async () => {
    function explode(): never {
      throw new RangeError("boom");
    }
    const error = await rejection(client.submit(explode));
    expect(error).toBeInstanceOf(RemoteTaskError);
    expect((error as RemoteTaskError).remoteName).toBe("RangeError");
  });

  it("keeps futures (not values) where the client hands them over asynchronously", async () => {
    const futures = client.map((x: number) => x + 1, [1, 2, 3]);
    const seen: unknown[] = [];
    for await (const f of client.asCompleted(futures)) seen.push(f);
    expect(seen).toHaveLength(3);
    for (const f of seen) expect(f).toBeInstanceOf(Future);
    const scattered = await client.scatter([10, 20]);
    expect(scattered.every((f) => f instanceof Future)).toBe(true);
    expect(await client.gather(scattered)).toEqual([10, 20]);
  });

  it("result({ timeoutMs }) rejects with a TimeoutError while the task runs on, and the value comes later", async () => {
    const gate = client.submit(
      (ms: number) => new Promise<string>((resolve) => setTimeout(() => resolve("late"), ms)),
      1_500,
    );
    const error = await rejection(gate.result({ timeoutMs: 50 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as LaunchbayError).code).toBe("timeout");
    expect((error as Error).message).toMatch(/has no result after 50 ms \(status pending\)/);
    expect(await gate).toBe("late");
    const bad = await rejection(gate.result({ timeoutMs: -1 }));
    expect((bad as LaunchbayError).code).toBe("invalid-option");
  });

  it("rejects an await of a released future", async () => {
    const f = client.submit((x: number) => x, 1);
    await f;
    f.release();
    expect(((await rejection(f)) as LaunchbayError).code).toBe("released");
  });
});

describe("gather and scatter shapes", () => {
  it("gathers the values of a Map and the elements of a Set, nested too", async () => {
    const cube = (x: number) => x ** 3;
    const byName = new Map([
      ["two", client.submit(cube, 2)],
      ["three", client.submit(cube, 3)],
    ]);
    const gathered = await client.gather(byName);
    expect(gathered).toEqual(
      new Map([
        ["two", 8],
        ["three", 27],
      ]),
    );
    expect([...gathered.keys()]).toEqual(["two", "three"]);
    const set = new Set(client.map(cube, [1, 2, 3]));
    expect(await client.gather(set)).toEqual(new Set([1, 8, 27]));
    const nested = await client.gather({ runs: [new Map([[1, client.submit(cube, 4)]])] });
    expect(nested).toEqual({ runs: [new Map([[1, 64]])] });
  });

  it("scatters a single value to one future that tasks take as an argument", async () => {
    const weights = Float64Array.from({ length: 50_000 }, (_, i) => i % 7);
    const local = weights.reduce((a, b) => a + b, 0);
    const future = client.scatter(weights);
    expect(future).toBeInstanceOf(Future);
    expect(future.key).toMatch(/^scatter-[0-9a-f]{32}$/);
    const total = client.submit((w: Float64Array) => w.reduce((a, b) => a + b, 0), future);
    expect(await total).toBe(local);
    expect(Array.from((await future) as Float64Array).slice(0, 8)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 0,
    ]);
    expect(future.status).toBe("finished");
    const [same] = await client.scatter([weights]);
    expect(same!.key).toBe(future.key);
  });

  it("refuses to scatter what cannot be cloned, at once", () => {
    expect(() => client.scatter(() => 1)).toThrow(/the scattered value/);
  });
});

/** A terminal stand-in: keeps what progress() writes. */
function recorder(): { write(text: string): boolean; text: string } {
  return {
    text: "",
    write(text: string) {
      this.text += text;
      return true;
    },
  };
}

describe("progress", () => {
  it("draws a terminal bar in place that reaches 100% and resolves when every future is done, counting errors", async () => {
    const futures = client.map(
      (i: number) =>
        new Promise<number>((resolve, reject) =>
          setTimeout(
            () => (i % 5 === 4 ? reject(new Error(`bad ${i}`)) : resolve(i)),
            100 + i * 10,
          ),
        ),
      Array.from({ length: 20 }, (_, i) => i),
    );
    const stream = recorder();
    const summary = await progress(futures, { output: "terminal", stream, intervalMs: 0 });
    expect(futures.every((f) => f.done())).toBe(true);
    expect(summary).toMatchObject({ total: 20, finished: 16, erred: 4 });
    const lines = stream.text.split("\r").filter((l) => l !== "");
    expect(lines.length).toBeGreaterThan(2);
    expect(lines[0]).toMatch(/^\[-{40}\] {3}0% \| 0\/20 tasks/);
    expect(lines.at(-1)).toMatch(/^\[#{40}\] 100% \| 20\/20 tasks \| 4 erred \| \d+\.\d s\n$/);
    expect(stream.text.endsWith("\n")).toBe(true);
    expect(stream.text.indexOf("\n")).toBe(stream.text.length - 1);
  });

  it("updates one notebook display in place, and persists a Bag with a bar over its partitions", async () => {
    const frames: string[] = [];
    const display = { html: (s: string) => frames.push(s) };
    const bag = Bag.range(client, 400, { npartitions: 8 }).map(
      (x: number) => new Promise<number>((resolve) => setTimeout(() => resolve(x * 2), 20)),
    );
    const persisted = await progress(bag, { display, intervalMs: 0 });
    expect(persisted).toBeInstanceOf(Bag);
    expect(await persisted.sum().compute()).toBe(2 * ((399 * 400) / 2));
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.at(-1)).toContain("100% · 8/8 tasks");
  });

  it("resolves at once for futures already done, and refuses what is not futures", async () => {
    const f = client.submit((x: number) => x, 1);
    await f;
    const stream = recorder();
    expect(await progress([f], { output: "terminal", stream })).toMatchObject({
      total: 1,
      finished: 1,
    });
    expect(stream.text).toMatch(/100% \| 1\/1 tasks/);
    await expect(progress(42)).rejects.toThrow(/progress\(\) takes futures/);
    await expect(progress([f], { output: "notebook" })).rejects.toThrow(/needs a tslab kernel/);
  });
});

/** Helpers as a notebook defines them in earlier cells. */
const DEGREE = 3;
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
function polynomial(x: number): number {
  let y = 0;
  for (let k = 0; k <= DEGREE; k++) y += x ** k;
  return y;
}
async function fit(x: number): Promise<number> {
  await sleep(5);
  return polynomial(x);
}

describe("helpers that travel", () => {
  it("runs a task that uses helpers and constants listed in uses, like the sequential computation", async () => {
    const inputs = [0, 1, 2, 3, 4, 5];
    const local = await Promise.all(inputs.map((x) => fit(x)));
    const uses = { fit, sleep, polynomial, DEGREE };
    const one = client.submitWith({ uses }, async (x: number) => fit(x), 4);
    expect(await one).toBe(local[4]);
    const many = client.map((x: number) => fit(x), inputs, { uses });
    expect(await client.gather(many)).toEqual(local);
    expect(many[0]!.key).toMatch(/^task-[0-9a-f]{32}$|^[\w.$-]+-[0-9a-f]{32}$/);
  });

  it("says which helper is missing from uses before anything runs", () => {
    expect(() => client.submitWith({ uses: { fit, sleep } }, (x: number) => fit(x), 1)).toThrow(
      /uses `polynomial` from the notebook.*list helpers in uses/,
    );
  });
});
