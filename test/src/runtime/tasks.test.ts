/**
 * The runtime end to end: the built scheduler and worker CLIs as real processes, driven
 * through the `launchbay` client.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CancelledError, type Client, FreeVariableError, RemoteTaskError } from "launchbay";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RuntimeCluster } from "./cluster.js";

let cluster: RuntimeCluster;
let client: Client;
const scratch = mkdtempSync(join(tmpdir(), "launchbay-runtime-"));

beforeAll(async () => {
  cluster = await RuntimeCluster.start({
    workers: 3,
    nthreads: 1,
    workerArgs: (i) => (i === 2 ? ["--resources", "gpu=1"] : []),
  });
  client = await cluster.client();
});

afterAll(async () => {
  await cluster?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("tasks across real processes", () => {
  it("submits, maps and gathers", async () => {
    const sum = client.submit((a: number, b: number) => a + b, 1, 2);
    expect(await sum.result()).toBe(3);
    const squares = client.map((x: number) => x * x, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await client.gather(squares)).toEqual([1, 4, 9, 16, 25, 36, 49, 64, 81, 100]);
    expect(await client.gather({ pair: [sum, squares[2]!] })).toEqual({ pair: [3, 9] });
  });

  it("runs a dependency chain and a diamond", async () => {
    let f = client.submit((x: number) => x, 0);
    for (let i = 0; i < 20; i++) f = client.submit((x: number) => x + 1, f);
    expect(await f.result()).toBe(20);

    const top = client.submit(() => 10);
    const left = client.submit((x: number) => x * 2, top);
    const right = client.submit((x: number) => x + 5, top);
    const bottom = client.submit((a: number, b: number) => a - b, left, right);
    expect(await bottom.result()).toBe(5);
  });

  it("replaces futures nested in arrays and objects by their values", async () => {
    const [a, b, c] = client.map((x: number) => x * 10, [1, 2, 3]);
    const nested = client.submit(
      (o: { a: number; list: [number, { c: number }] }) => o.a + o.list[0] + o.list[1].c,
      { a: a!, list: [b!, { c: c! }] },
    );
    expect(await nested.result()).toBe(60);
  });

  it("scatters data for tasks to use", async () => {
    const values = Array.from({ length: 50_000 }, (_, i) => i);
    const [scattered] = await client.scatter([values]);
    const total = client.submit((xs: number[]) => xs.reduce((s, x) => s + x, 0), scattered!);
    expect(await total.result()).toBe((50_000 * 49_999) / 2);
    expect(await scattered!.result()).toEqual(values);
  });

  it("re-throws a task's error with the remote stack", async () => {
    function failing(x: number): number {
      throw new TypeError(`bad input ${x}`);
    }
    const f = client.submit(failing, 3);
    const error = await f.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RemoteTaskError);
    const remote = error as RemoteTaskError;
    expect(remote.message).toContain(`task ${f.key} failed: TypeError: bad input 3`);
    expect(remote.message).toContain("at failing");
    expect(remote.remoteStack).toContain("at failing");
    expect(f.status).toBe("error");
    // A dependent of the erred task errs too.
    const dependent = client.submit((x: number) => x + 1, f);
    await expect(dependent.result()).rejects.toThrow(/bad input 3/);
  });

  it("retries a failing task", async () => {
    const flaky = client.submitWith(
      { retries: 2 },
      (dir: string) => {
        // (Vitest rewrites `import()` in test files, so use the built-in module getter.)
        const fs = process.getBuiltinModule("node:fs") as typeof import("node:fs");
        const marker = `${dir}/attempted`;
        if (!fs.existsSync(marker)) {
          fs.writeFileSync(marker, "once");
          throw new Error("first attempt fails");
        }
        return "second attempt";
      },
      scratch,
    );
    expect(await flaky.result()).toBe("second attempt");
    const hopeless = client.submitWith({ retries: 1 }, () => {
      throw new Error("always fails");
    });
    await expect(hopeless.result()).rejects.toThrow(/always fails/);
  });

  it("cancels a running task and frees its worker thread", async () => {
    const spin = client.submitWith({ workers: ["w-0"] }, () => {
      for (;;) {}
    });
    await cluster.waitForStatus(
      (s) => s.workers.some((w) => w.name === "w-0" && w.processing > 0),
      "the spin task to run",
    );
    spin.cancel();
    await expect(spin.result()).rejects.toBeInstanceOf(CancelledError);
    expect(spin.status).toBe("cancelled");
    // w-0 has one thread: the next task there only runs if the spinning thread was replaced.
    const after = client.submitWith({ workers: ["w-0"] }, () => "thread replaced");
    expect(await after.result()).toBe("thread replaced");
  });

  it("rejects a function with free variables, naming the variable", () => {
    const threshold = 5;
    const error = (() => {
      try {
        client.submit((x: number) => x > threshold, 1);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(FreeVariableError);
    expect((error as Error).message).toContain("`threshold`");
    expect((error as Error).message).toContain("pass it as an argument");
  });

  it("runs restricted tasks only on the named worker", async () => {
    const pids = await client.gather(
      Array.from({ length: 4 }, () => client.submitWith({ workers: ["w-1"] }, () => process.pid)),
    );
    expect(new Set(pids)).toEqual(new Set([cluster.worker("w-1").process.pid]));
  });

  it("runs tasks that claim a resource only where it is offered", async () => {
    const pids = await client.gather(
      Array.from({ length: 3 }, () =>
        client.submitWith({ resources: { gpu: 1 } }, () => process.pid),
      ),
    );
    expect(new Set(pids)).toEqual(new Set([cluster.worker("w-2").process.pid]));
  });

  it("errs with no-worker when no worker could ever satisfy a resource", async () => {
    const f = client.submitWith({ resources: { tpu: 1 } }, () => 1);
    const error = (await f.exception()) as RemoteTaskError;
    expect(error).toBeInstanceOf(RemoteTaskError);
    expect(error.remoteCode).toBe("no-worker");
    expect(error.message).toContain("tpu");
  });
});
