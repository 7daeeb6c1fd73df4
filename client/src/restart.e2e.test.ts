/**
 * `client.restart()` against a real LocalCluster (the built CLIs, `npx tsc -b` first):
 * workers drop their results and running tasks and register again, every future held
 * before (by any client) is lost with an error that says why, and new work computes the
 * same results as this process does.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "./client.js";
import { LocalCluster } from "./cluster/local-cluster.js";
import { FutureLostError } from "./errors.js";

let cluster: LocalCluster;
let client: Client;
let other: Client;

beforeAll(async () => {
  cluster = await LocalCluster.start({ workers: 2, threadsPerWorker: 1 });
  client = await cluster.client({ name: "restart-e2e" });
  other = await cluster.client({ name: "restart-e2e-other" });
}, 60_000);

afterAll(async () => {
  await cluster?.close();
});

const inc = (x: number) => x + 1;

describe("client.restart()", () => {
  it("drops every result and running task; old futures are lost, new work is right", async () => {
    const done = client.submit(inc, 1);
    expect(await done.result()).toBe(2);
    const big = client.submit((n: number) => new Uint8Array(n).fill(7), 2_000_000);
    await client.wait([big]);
    const scattered = await other.scatter([40]);
    // Both threads busy forever: only a restart frees them.
    const endless = [0, 1].map((i) =>
      client.submit(
        (_: number) => {
          for (;;) {}
        },
        i,
        { pure: false },
      ),
    );
    for (;;) {
      const info = await client.info();
      if ((info.tasks.processing ?? 0) >= 2) break;
    }
    expect((await client.info()).workers.reduce((s, w) => s + w.bytesHeld, 0)).toBeGreaterThan(
      2_000_000,
    );

    expect(await client.restart()).toBe(2);

    for (const future of [done, big, ...endless, scattered[0]!]) {
      const error = await future.result().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FutureLostError);
      expect((error as Error).message).toMatch(/the cluster was restarted \(client\.restart\(\)\)/);
    }
    const info = await client.info();
    expect(info.workers).toHaveLength(2);
    expect(info.workers.every((w) => w.bytesHeld === 0 && w.processing === 0)).toBe(true);

    // Both threads are free again, and the same (pure) key computes afresh.
    expect(await client.submit(inc, 1).result()).toBe(2);
    const xs = Array.from({ length: 20 }, (_, i) => i);
    const squares = client.map((x: number) => x * x, xs);
    const total = client.submit((v: number[]) => v.reduce((a, b) => a + b, 0), squares);
    expect(await total.result()).toBe(xs.reduce((a, x) => a + x * x, 0));
    expect(await other.gather(other.map(inc, [1, 2, 3]))).toEqual([2, 3, 4]);
  });

  it("resolves at once with 0 on a cluster without workers, and refuses bad options", async () => {
    const empty = await LocalCluster.start({ workers: 0 });
    try {
      const c = await empty.client();
      expect(await c.restart()).toBe(0);
      await expect(c.restart({ timeoutMs: -1 })).rejects.toThrow(/timeoutMs/);
    } finally {
      await empty.close();
    }
  });
});
