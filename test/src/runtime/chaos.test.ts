/**
 * Failures on purpose, against real processes: workers killed with SIGKILL in the middle
 * of a graph (seeded, repeated), a task that kills every worker it runs on, and a
 * scheduler restarted on the same port.
 */
import { type Future, RemoteTaskError, SchedulerLostError } from "launchbay";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { seededRandom } from "../seeded-random.js";
import { RuntimeCluster } from "./cluster.js";

/** Resolves once `count` of `futures` are done. */
function whenDone(futures: Future<unknown>[], count: number): Promise<void> {
  return new Promise((resolve) => {
    let done = 0;
    if (count <= 0) resolve();
    for (const f of futures) {
      f.addDoneCallback(() => {
        if (++done === count) resolve();
      });
    }
  });
}

const clusters: RuntimeCluster[] = [];
async function startCluster(options: Parameters<typeof RuntimeCluster.start>[0]) {
  const cluster = await RuntimeCluster.start(options);
  clusters.push(cluster);
  return cluster;
}
afterEach(async () => {
  while (clusters.length) await clusters.pop()!.close();
});
afterAll(async () => {
  while (clusters.length) await clusters.pop()!.close();
});

describe("chaos", () => {
  it.each([1, 2, 3])(
    "computes a graph correctly when a worker is killed with SIGKILL in the middle (seed %i)",
    async (seed) => {
      const random = seededRandom(seed);
      const cluster = await startCluster({ workers: 3, nthreads: 1 });
      const client = await cluster.client();
      const n = 24;
      const busy = (i: number) => {
        const end = Date.now() + 40;
        while (Date.now() < end) {}
        return i * i;
      };
      const squares = client.map(
        busy,
        Array.from({ length: n }, (_, i) => i),
      );
      const pairs = Array.from({ length: n / 2 }, (_, i) =>
        client.submit((a: number, b: number) => a + b, squares[2 * i]!, squares[2 * i + 1]!),
      );
      const total = client.submit((xs: number[]) => xs.reduce((s, x) => s + x, 0), pairs);

      const killAfter = 2 + Math.floor(random() * 10);
      const victim = cluster.workers[Math.floor(random() * cluster.workers.length)]!;
      await whenDone(squares, killAfter);
      await victim.process.kill();
      const replacement = cluster.addWorker();

      const expected = Array.from({ length: n }, (_, i) => i * i).reduce((s, x) => s + x, 0);
      expect(await total.result()).toBe(expected);
      expect(await client.gather(squares)).toEqual(Array.from({ length: n }, (_, i) => i * i));
      await replacement;
      const status = await cluster.waitForStatus(
        (s) => s.workers.length === 3 && !s.workers.some((w) => w.name === victim.name),
        "the killed worker to be gone and its replacement registered",
      );
      expect(status.workers).toHaveLength(3);
    },
  );

  it("errs with killed-worker when a task kills every worker it runs on", async () => {
    const cluster = await startCluster({
      workers: 4,
      nthreads: 1,
      schedulerArgs: ["--allowed-failures", "2"],
    });
    const client = await cluster.client();
    const suicidal = client.submit(() => {
      process.kill(process.pid, "SIGKILL");
      return "unreachable";
    });
    const error = await suicidal.exception();
    expect(error).toBeInstanceOf(RemoteTaskError);
    const remote = error as RemoteTaskError;
    expect(remote.remoteCode).toBe("killed-worker");
    expect(remote.message).toMatch(/workers that died/);
    expect(remote.message).toContain(suicidal.key);
    const dead = cluster.workers.filter((w) => !w.process.running).length;
    expect(dead).toBeGreaterThanOrEqual(2);
    expect(dead).toBeLessThanOrEqual(3);
    // The survivors still work.
    expect(await client.submit((x: number) => x + 1, 41).result()).toBe(42);
  });

  it("reconnects workers to a restarted scheduler; old futures fail with SchedulerLostError, new ones work", async () => {
    const cluster = await startCluster({ workers: 2, nthreads: 1 });
    const client = await cluster.client();
    const large = client.submit((n: number) => new Uint8Array(n).fill(1), 1_000_000);
    await client.wait([large]); // finished, but the value is still on a worker
    const running = client.submit(() => {
      for (;;) {}
    });
    await cluster.waitForStatus(
      (s) => s.workers.some((w) => w.processing > 0),
      "the endless task to run",
    );
    const oldSchedulerId = (await cluster.status()).schedulerId;
    const port = Number(new URL(cluster.address).port);

    await cluster.scheduler.kill();
    const lostRunning = running.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    const lostLarge = large.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(await lostRunning).toBeInstanceOf(SchedulerLostError);
    expect(await lostLarge).toBeInstanceOf(SchedulerLostError);
    expect(((await lostRunning) as Error).message).toMatch(
      /the connection to the scheduler at ws:\/\/.* closed.*submit them again/,
    );

    await cluster.startScheduler(port);
    const status = await cluster.waitForStatus(
      (s) => s.workers.length === 2 && s.schedulerId !== oldSchedulerId,
      "both workers to register with the new scheduler",
    );
    expect(status.workers.map((w) => w.name).sort()).toEqual(["w-0", "w-1"]);
    // The workers dropped the endless task: they have free threads for new work.
    await client.whenConnected();
    const fresh = client.map((x: number) => x * 3, [1, 2, 3, 4]);
    expect(await client.gather(fresh)).toEqual([3, 6, 9, 12]);
  });
});
