/**
 * The client against real processes: a LocalCluster (the built launchbay-scheduler and
 * launchbay-worker CLIs, `npx tsc -b scheduler worker` first) on loopback.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "./client.js";
import { LocalCluster } from "./cluster/local-cluster.js";
import {
  FreeVariableError,
  type LaunchbayError,
  RemoteTaskError,
  SchedulerLostError,
} from "./errors.js";
import type { Future } from "./futures/future.js";

let cluster: LocalCluster;
let client: Client;
const scratch = mkdtempSync(join(tmpdir(), "launchbay-client-test-"));

beforeAll(async () => {
  cluster = await LocalCluster.start({ workers: 2, threadsPerWorker: 2 });
  client = await cluster.client({ name: "client-e2e" });
}, 60_000);

afterAll(async () => {
  await cluster?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("Client against a LocalCluster", () => {
  it("runs a submitted function and returns its result", async () => {
    const future = client.submit((a: number, b: number) => a + b, 1, 2);
    expect(future.key).toMatch(/^task-[0-9a-f]{32}$|^[\w.$-]+-[0-9a-f]{32}$/);
    expect(await future.result()).toBe(3);
    expect(future.status).toBe("finished");
  });

  it("names keys after the function", async () => {
    function slowAdd(a: number, b: number) {
      return a + b;
    }
    const future = client.submit(slowAdd, 2, 3);
    expect(future.key).toMatch(/^slowAdd-[0-9a-f]{32}$/);
    expect(await future.result()).toBe(5);
  });

  it("passes futures as arguments, also nested in arrays and objects", async () => {
    const inc = (x: number) => x + 1;
    const a = client.submit(inc, 1);
    const b = client.submit(inc, a);
    const total = client.submit(
      (xs: number[], o: { y: number }) => xs.reduce((s, x) => s + x, 0) + o.y,
      [a, b, 10],
      { y: b },
    );
    expect(await total.result()).toBe(2 + 3 + 10 + 3);
  });

  it("maps over items and gathers results in order", async () => {
    const futures = client.map(
      (x: number) => x * x,
      Array.from({ length: 200 }, (_, i) => i),
    );
    const values = await client.gather(futures);
    expect(values).toEqual(Array.from({ length: 200 }, (_, i) => i * i));
  });

  it("gathers nested structures of futures", async () => {
    const f = client.submit(() => "x");
    const g = client.submit(() => new Map([["k", 1]]));
    const gathered = await client.gather({ list: [f, 1, { g }], plain: "p" });
    expect(gathered).toEqual({ list: ["x", 1, { g: new Map([["k", 1]]) }], plain: "p" });
  });

  it("rethrows a task's error with the remote stack from result()", async () => {
    const future = client.submit(function explode(n: number) {
      if (n > 0) throw new TypeError(`bad n ${n}`);
      return n;
    }, 3);
    const error = await future.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteTaskError);
    expect((error as RemoteTaskError).remoteName).toBe("TypeError");
    expect((error as Error).message).toMatch(
      /^task explode-[0-9a-f]{32} failed: TypeError: bad n 3\n--- remote stack ---\n/,
    );
    expect((error as Error).message).toMatch(/at explode/);
    expect(future.status).toBe("error");
  });

  it("errs the dependents of a failed task", async () => {
    const bad = client.submit(() => {
      throw new Error("root cause");
    });
    const dependent = client.submit((x: unknown) => x, bad);
    await expect(dependent.result()).rejects.toThrow(/root cause/);
  });

  it("rejects a function with free variables at submit time, naming them", () => {
    const data = [1, 2, 3];
    expect(() => client.submit(() => data.length)).toThrow(FreeVariableError);
    expect(() => client.submit(() => data.length)).toThrow(/uses `data` from the notebook/);
  });

  it("rejects arguments that cannot be serialised", () => {
    expect(() =>
      client.submit(
        (f: unknown) => f,
        () => 1,
      ),
    ).toThrow(/not-serializable|cannot be sent to a worker/);
  });

  it("fetches a large result directly from the worker holding it", async () => {
    const size = 3 * 1024 * 1024;
    const future = client.submit((n: number) => {
      const bytes = new Uint8Array(n);
      for (let i = 0; i < n; i += 4096) bytes[i] = i % 251;
      return bytes;
    }, size);
    const value = await future.result();
    expect(value).toBeInstanceOf(Uint8Array);
    expect(value.byteLength).toBe(size);
    expect(value[4096 * 7]).toBe((4096 * 7) % 251);
  });

  it("scatters values and uses them as arguments", async () => {
    const [big, small] = await client.scatter([new Float64Array(100_000).fill(0.5), 7]);
    expect(big!.status).toBe("finished");
    const sum = client.submit(
      (xs: Float64Array, k: number) => xs.reduce((s, x) => s + x, 0) * k,
      big!,
      small!,
    );
    expect(await sum.result()).toBe(50_000 * 7);
    const [again] = await client.scatter([7]);
    expect(again!.key).toBe(small!.key);
  });

  it("dedupes pure calls to one key and keeps impure ones apart", async () => {
    const f = (x: number) => x * 2;
    const a = client.submitWith({ pure: true }, f, 21);
    const b = client.submitWith({ pure: true }, f, 21);
    const c = client.submit(f, 21);
    expect(a.key).toBe(b.key);
    expect(c.key).not.toBe(a.key);
    expect(await client.gather([a, b, c])).toEqual([42, 42, 42]);
  });

  it("cancels a task: its future rejects with a CancelledError", async () => {
    const never = client.submit(() => new Promise<never>(() => {}));
    never.cancel();
    expect(never.status).toBe("cancelled");
    const error = await never.result().catch((e: unknown) => e);
    expect((error as LaunchbayError).code).toBe("cancelled");
  });

  it("waits for the first of several futures, and times out with a clear error", async () => {
    const quick = client.submit(() => 1);
    const never = client.submit(() => new Promise<never>(() => {}));
    const { done, notDone } = await client.wait([never, quick], { returnWhen: "FIRST_COMPLETED" });
    expect(done).toEqual([quick]);
    expect(notDone).toEqual([never]);
    const error = await client.wait([never], { timeoutMs: 50 }).catch((e: unknown) => e);
    expect((error as LaunchbayError).code).toBe("timeout");
    expect((error as Error).message).toMatch(/timed out after 50 ms with 1 of 1 futures not done/);
    client.cancel(never);
  });

  it("yields futures in completion order with asCompleted", async () => {
    const gate = client.submit(
      () => new Promise<number>((resolve) => setTimeout(() => resolve(2), 300)),
    );
    const first = client.submit(() => 1);
    const order: number[] = [];
    for await (const [, value] of client.asCompleted([gate, first], { withResults: true }))
      order.push(value);
    expect(order).toEqual([1, 2]);
  });

  it("runs a task on the worker it is restricted to", async () => {
    const pids = await client.gather(
      ["local-0", "local-1"].map((w) => client.submitWith({ workers: w }, () => process.pid)),
    );
    const byName = new Map(cluster.workers.map((w) => [w.name, w.pid]));
    expect(pids).toEqual([byName.get("local-0"), byName.get("local-1")]);
  });

  it("retries a failing task", async () => {
    const marker = join(scratch, "attempted");
    // Built with eval: the test runner rewrites import() inside this file's own functions.
    // biome-ignore lint/security/noGlobalEval: see above
    const attempt = globalThis.eval(`(async function attempt(path) {
      const fs = await import("node:fs");
      if (!fs.existsSync(path)) {
        fs.writeFileSync(path, "1");
        throw new Error("first attempt fails");
      }
      return "second attempt works";
    })`) as (path: string) => Promise<string>;
    const flaky = client.submitWith({ retries: 2 }, attempt, marker);
    expect(await flaky.result()).toBe("second attempt works");
  });

  it("reports workers and task counts from info()", async () => {
    const info = await client.info();
    expect(info.workers.map((w) => w.name).sort()).toEqual(["local-0", "local-1"]);
    expect(info.workers.every((w) => w.nthreads === 2)).toBe(true);
    expect(typeof info.schedulerId).toBe("string");
  });

  it("ships a TypeScript module with its imports and runs its exports", async () => {
    writeFileSync(
      join(scratch, "helpers.ts"),
      "export const square = (x: number): number => x * x;\n",
    );
    writeFileSync(
      join(scratch, "main.ts"),
      'import { square } from "./helpers.ts";\nimport { cpus } from "node:os";\n' +
        "export function sumOfSquares(xs: number[]): number { return xs.reduce((s, x) => s + square(x), 0); }\n" +
        "export const cores = (): number => cpus().length;\n",
    );
    const mod = await client.uploadModule<{
      sumOfSquares: (xs: number[]) => number;
      cores: () => number;
    }>(join(scratch, "main.ts"));
    expect([...mod.exportNames].sort()).toEqual(["cores", "sumOfSquares"]);
    const f = client.submit(mod.functions.sumOfSquares, [1, 2, 3]);
    expect(f.key).toMatch(/^sumOfSquares-/);
    expect(await f.result()).toBe(14);
    expect(
      await client.gather(client.map(mod.fn<(x: number[]) => number>("sumOfSquares"), [[1], [2]])),
    ).toEqual([1, 4]);
    expect(await client.submit(mod.functions.cores).result()).toBeGreaterThan(0);
    expect(() => mod.fn("missing")).toThrow(/has no export named "missing"; it exports: /);
  });

  it("releases keys when futures are released or garbage-collected", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const kept = client.submit(() => 1);
    const droppedKeys = (() => {
      const dropped = client.map((x: number) => x, [1, 2, 3]);
      return dropped.map((f) => f.key);
    })();
    await kept.result();
    expect(client.holds(kept.key)).toBe(true);
    kept.release();
    await expect(kept.result()).rejects.toThrow(/was released/);
    const stillHeld = () =>
      droppedKeys.filter((key) => client.holds(key)).length + (client.holds(kept.key) ? 1 : 0);
    for (let i = 0; i < 100 && stillHeld() > 0; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(stillHeld()).toBe(0);
  });

  it("keeps a future alive while its result is awaited, even with no other reference", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    // The future is unreachable except through the pending result: garbage collection
    // must not release its key before the result arrives.
    const pending = client
      .submit(
        (ms: number) => new Promise<string>((resolve) => setTimeout(() => resolve("late"), ms)),
        300,
      )
      .result();
    let settled = false;
    void pending.finally(() => {
      settled = true;
    });
    for (let i = 0; i < 20 && !settled; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await pending).toBe("late");
  });

  it("refuses a wrong token with a message about the token", async () => {
    const error = await Client.connect(cluster.address, { token: "wrong-token-123" }).catch(
      (e: unknown) => e,
    );
    expect((error as LaunchbayError).code).toBe("connect-failed");
    expect((error as Error).message).toMatch(/refused the token \(HTTP 401\)/);
  });
});

describe("Client when the scheduler goes away", () => {
  it("rejects unfinished futures with a SchedulerLostError and keeps results it already has", async () => {
    const small = await LocalCluster.start({ workers: 1 });
    try {
      const c = await small.client();
      const done = c.submit(() => "kept");
      expect(await done.result()).toBe("kept");
      const pending: Future<never> = c.submit(() => new Promise<never>(() => {}));
      const rejected = pending.result().catch((e: unknown) => e);
      small.scheduler.kill();
      const error = await rejected;
      expect(error).toBeInstanceOf(SchedulerLostError);
      expect((error as Error).message).toMatch(
        /^the connection to the scheduler at ws:\/\/127\.0\.0\.1:\d+ closed.*: the results of futures submitted before are lost; submit them again$/,
      );
      expect(pending.status).toBe("lost");
      expect(await done.result()).toBe("kept");
      expect(() => c.submit((x: string) => x, done)).toThrow(SchedulerLostError);
    } finally {
      await small.close();
    }
  });
});
