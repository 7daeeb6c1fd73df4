/**
 * An exception inside the scheduler's state machine fails the scheduler hard: its
 * bookkeeping may be half-applied, so it logs the error at fatal level, cuts every
 * connection and exits 70 for its supervisor to restart it, instead of carrying on.
 * The fault is injected through LAUNCHBAY_TEST_FAIL_ON_CLIENT (honoured only outside
 * NODE_ENV=production): the state machine throws after handling the join of a client of
 * that name.
 */
import { Client, SchedulerLostError } from "launchbay";
import { afterEach, describe, expect, it } from "vitest";
import { RuntimeCluster } from "./cluster.js";

const TRIGGER = "fault-trigger";
let cluster: RuntimeCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

/** Connects a client named `name`; resolves with it, or with the error if refused. */
function connectNamed(c: RuntimeCluster, name: string): Promise<Client | unknown> {
  return Client.connect(c.address, { token: c.token, name }).then(
    (client) => client,
    (error: unknown) => error,
  );
}

describe("the scheduler fails hard when its state machine throws", () => {
  it("logs the error at fatal level, exits 70, and clients see the scheduler lost; a restarted scheduler works", async () => {
    cluster = await RuntimeCluster.start({
      workers: 1,
      schedulerEnv: { LAUNCHBAY_TEST_FAIL_ON_CLIENT: TRIGGER },
    });
    const client = await cluster.client();
    expect(await client.submit((x: number) => x + 1, 1).result()).toBe(2);
    const running = client.submit(() => {
      for (;;) {}
    });
    await cluster.waitForStatus((s) => s.workers.some((w) => w.processing > 0), "the task to run");
    const lost = running.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    const port = Number(new URL(cluster.address).port);

    const trigger = await connectNamed(cluster, TRIGGER);
    if (trigger instanceof Client) await trigger.close().catch(() => {});
    const exit = await cluster.scheduler.exited;
    expect(exit).toEqual({ code: 70, signal: null });
    const fatal = cluster.scheduler.stderrLines
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message: string } })
      .find((l) => l.level === 60);
    expect(fatal?.msg).toMatch(/state machine failed/);
    expect(fatal?.err?.message).toContain("test hook: the state machine throws");

    const error = await lost;
    expect(error).toBeInstanceOf(SchedulerLostError);
    expect((error as Error).message).toMatch(/submit them again/);

    // What a supervisor does: start it again on the same port; the worker reconnects.
    await cluster.startScheduler(port);
    await cluster.waitForStatus((s) => s.workers.length === 1, "the worker to re-register");
    await client.whenConnected();
    expect(await client.gather(client.map((x: number) => x * 3, [1, 2, 3]))).toEqual([3, 6, 9]);
  });

  it("control: without the hook, a client of that name is served like any other", async () => {
    cluster = await RuntimeCluster.start({ workers: 1 });
    const named = await connectNamed(cluster, TRIGGER);
    expect(named).toBeInstanceOf(Client);
    const client = named as Client;
    expect(await client.submit((x: number) => x * 2, 21).result()).toBe(42);
    await client.close();
    expect(cluster.scheduler.running).toBe(true);
  });

  it("ignores the hook when NODE_ENV=production", async () => {
    cluster = await RuntimeCluster.start({
      workers: 1,
      schedulerEnv: { LAUNCHBAY_TEST_FAIL_ON_CLIENT: TRIGGER, NODE_ENV: "production" },
    });
    const named = await connectNamed(cluster, TRIGGER);
    expect(named).toBeInstanceOf(Client);
    expect(await (named as Client).submit((x: number) => x - 1, 43).result()).toBe(42);
    await (named as Client).close();
    expect(cluster.scheduler.running).toBe(true);
  });
});
