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
import { Future } from "./futures/future.js";

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
