/**
 * Data through the runtime: large values moving worker to worker, results released when
 * futures are dropped, and the workers' memory limit.
 */
import { type Client, RemoteTaskError } from "launchbay";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RuntimeCluster, taskTotal } from "./cluster.js";
import { REPO_ROOT } from "./processes.js";

const MiB = 2 ** 20;
let cluster: RuntimeCluster;
let client: Client;

beforeAll(async () => {
  cluster = await RuntimeCluster.start({
    workers: 3,
    nthreads: 1,
    heartbeatIntervalMs: 500,
    workerArgs: (i) => (i === 2 ? ["--memory-limit", "50MiB"] : ["--memory-limit", "1GiB"]),
  });
  client = await cluster.client();
});

afterAll(async () => {
  await cluster?.close();
});

const idle = (what: string) =>
  cluster.waitForStatus(
    (s) => taskTotal(s) === 0 && s.workers.every((w) => w.bytesHeld === 0),
    what,
  );

describe("data and memory", () => {
  it("moves a 100 MB buffer from one worker to another as a dependency", async () => {
    const size = 100 * MiB;
    const big = client.submitWith(
      { workers: ["w-0"] },
      (n: number) => new Uint8Array(n).fill(3),
      size,
    );
    await client.wait([big]);
    const started = performance.now();
    const checked = client.submitWith(
      { workers: ["w-1"] },
      (bytes: Uint8Array) => bytes.byteLength + bytes[bytes.byteLength - 1]!,
      big,
    );
    expect(await checked.result()).toBe(size + 3);
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `100 MiB dependency moved and used in ${(seconds * 1000).toFixed(0)} ms (${(size / seconds / 1e9).toFixed(2)} GB/s end to end)`,
    );
    const status = await cluster.status();
    expect(status.workers.find((w) => w.name === "w-0")!.bytesHeld).toBeGreaterThanOrEqual(size);
    big.release();
    checked.release();
    await idle("the 100 MB result to be freed");
  });

  it("frees results on the workers and forgets tasks when futures are released", async () => {
    const futures = client.map((n: number) => new Float64Array(n), [100_000, 200_000, 300_000]);
    const sums = client.map((a: Float64Array) => a.length, futures);
    expect(await client.gather(sums)).toEqual([100_000, 200_000, 300_000]);
    const held = await cluster.waitForStatus(
      (s) => s.workers.reduce((sum, w) => sum + w.bytesHeld, 0) >= 6 * 800_000,
      "the arrays to be reported as held",
    );
    expect(taskTotal(held)).toBeGreaterThanOrEqual(6);
    for (const f of [...futures, ...sums]) f.release();
    await idle("every task and byte to be released");
  });

  it("releases futures that are garbage-collected", async () => {
    // A separate Node process with --expose-gc runs the built client, drops its futures
    // and collects them; the scheduler must then forget the tasks and the workers free the data.
    const script = `
      import { Client } from "launchbay";
      const client = await Client.connect(process.env.LAUNCHBAY_SCHEDULER);
      (function () {
        const futures = client.map((n) => new Uint8Array(n), [1e6, 2e6]);
        return client.gather(futures);
      })().then(async () => {
        console.log("computed");
        await new Promise((r) => process.stdin.once("data", r));
        globalThis.gc();
        await new Promise((r) => setTimeout(r, 0));
        globalThis.gc();
        console.log("collected");
        await new Promise((r) => process.stdin.once("data", r));
        await client.close();
      });
    `;
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        LAUNCHBAY_SCHEDULER: cluster.address,
        LAUNCHBAY_TOKEN: cluster.token,
      },
      stdio: ["pipe", "pipe", "inherit"],
    });
    try {
      const lines: string[] = [];
      const next = () =>
        new Promise<string>((resolve, reject) => {
          const onData = (d: Buffer) => {
            lines.push(...d.toString().trim().split("\n"));
            child.stdout.off("data", onData);
            resolve(lines.at(-1)!);
          };
          child.stdout.on("data", onData);
          child.once("exit", (code) => reject(new Error(`gc script exited with ${code}`)));
        });
      expect(await next()).toBe("computed");
      await cluster.waitForStatus((s) => taskTotal(s) >= 2, "the gc script's tasks to be held");
      child.stdin.write("go\n");
      expect(await next()).toBe("collected");
      await idle("garbage-collected futures to be released");
      child.stdin.write("done\n");
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("fails a task whose result would exceed the worker's memory limit", async () => {
    const f = client.submitWith({ workers: ["w-2"] }, (n: number) => new Uint8Array(n), 60 * MiB);
    const error = (await f.exception()) as RemoteTaskError;
    expect(error).toBeInstanceOf(RemoteTaskError);
    expect(error.remoteCode).toBe("memory-limit");
    expect(error.message).toMatch(
      /result of .* is 60 MiB but worker w-2 holds .* of its 50 MiB limit/,
    );
    expect(error.message).toContain("--memory-limit");
    // The worker keeps working.
    const small = client.submitWith({ workers: ["w-2"] }, () => "still fine");
    expect(await small.result()).toBe("still fine");
  });
});
