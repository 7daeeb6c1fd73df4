/**
 * Sandboxes that heal, with the real runtime and JupyterLab: workers and the scheduler
 * are killed with SIGKILL under a running computation; the local backend's supervisor
 * restarts them and the attendee's work goes on. The computation runs from this process
 * with the `launchbay` client and the sandbox's own address and token (what a notebook
 * kernel in it gets).
 */
import { until } from "./sandbox-until.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  clientEntry,
  defaultNotebooksDir,
  defaultRuntimeCommands,
  defaultVenvDir,
  findPackageDir,
  LocalBackend,
  pidsWithEnvMarker,
  SANDBOX_ENV_MARKER,
} from "@launchbay/web";
import { Client } from "launchbay";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { seededRandom } from "../seeded-random.js";
import { JupyterKernel } from "./jupyter-kernel.js";

let dir: string | undefined;
let backend: LocalBackend | undefined;
let client: Client | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  await backend?.close();
  backend = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function readySandbox(
  id: string,
  restartPolicy?: ConstructorParameters<typeof LocalBackend>[0]["restartPolicy"],
): Promise<{ b: LocalBackend; phases: string[] }> {
  dir = mkdtempSync(join(tmpdir(), "lb-heal-"));
  const b = new LocalBackend({
    sandboxesDir: join(dir, "sandboxes"),
    notebooksDir: defaultNotebooksDir(),
    clientEntry: clientEntry(),
    typesNodeDir: findPackageDir("@types/node"),
    commands: defaultRuntimeCommands(defaultVenvDir()),
    workers: 3,
    workerThreads: 1,
    workerMemoryLimit: "1GiB",
    startTimeoutMs: 120_000,
    log: pino({ level: "silent" }),
    ...(restartPolicy ? { restartPolicy } : {}),
  });
  backend = b;
  await b.start();
  const phases: string[] = [];
  b.watch(id, (e) => {
    if (phases[phases.length - 1] !== e.state.phase) phases.push(e.state.phase);
  });
  await b.create({ id, owner: "attendee", expiresAt: Date.now() + 3_600_000 });
  const state = await until(b, id, (s) => s?.phase === "Ready" || s?.phase === "Failed");
  expect(state?.phase, state?.message).toBe("Ready");
  return { b, phases };
}

/** Whether any worker is running a task now (the scheduler's /api/status). */
async function busyWorkers(b: LocalBackend, id: string): Promise<boolean> {
  const up = b.upstream(id, "dashboard");
  if (!up) return false;
  try {
    const res = await fetch(new URL("/api/status", up.baseUrl), { headers: up.headers });
    const body = (await res.json()) as { workers: Array<{ processing: number }> };
    return body.workers.some((w) => w.processing > 0);
  } catch {
    return false;
  }
}

/** The scheduler's view of its workers, through the sandbox's dashboard credentials. */
async function workerNames(b: LocalBackend, id: string): Promise<string[]> {
  const up = b.upstream(id, "dashboard");
  if (!up) return [];
  try {
    const res = await fetch(new URL("/api/status", up.baseUrl), {
      headers: up.headers,
      signal: AbortSignal.timeout(2000),
    });
    if (!res.ok) return [];
    const body = (await res.json()) as { workers: Array<{ name: string }> };
    return body.workers.map((w) => w.name).sort();
  } catch {
    return [];
  }
}

async function connect(b: LocalBackend, id: string): Promise<Client> {
  const env = b.notebookEnvironment(id)!.env;
  return Client.connect(env.LAUNCHBAY_SCHEDULER, { token: env.LAUNCHBAY_TOKEN });
}

const busy = (i: number) => {
  const end = Date.now() + 15;
  while (Date.now() < end) {}
  return i * 3 + 1;
};

describe("local sandboxes heal", () => {
  it("a worker killed -9 mid-map: the result is still correct and the sandbox stays Ready (seeded, 21 kills)", async () => {
    const id = "sb-heal1";
    // 21 kills over 3 workers in well under a minute: the window is shortened so the test
    // stays bounded while each worker is still killed several times in a row.
    const { b, phases } = await readySandbox(id, {
      maxCrashes: 5,
      windowMs: 10_000,
      initialDelayMs: 100,
      maxDelayMs: 2_000,
    });
    const names = [1, 2, 3].map((i) => `${id}-worker-${i}`);
    await expect.poll(() => workerNames(b, id), { timeout: 20_000 }).toEqual(names);
    client = await connect(b, id);
    const random = seededRandom(20261125);
    const kills = 21;
    const killedAt = new Map<number, number[]>();
    let survived = 0;
    let correct = 0;
    const started = Date.now();
    for (let round = 0; round < kills; round += 1) {
      const inputs = Array.from({ length: 60 }, (_, i) => round * 1000 + i);
      const futures = client.map(busy, inputs);
      // A seeded victim among the workers killed fewer than 3 times in the last 10 s, so
      // that no worker reaches the 5 crashes in 10 s that fail a sandbox on purpose.
      const now = Date.now();
      const eligible = [1, 2, 3].filter(
        (w) => (killedAt.get(w) ?? []).filter((t) => t > now - 10_000).length < 3,
      );
      expect(eligible.length).toBeGreaterThan(0);
      const victim = eligible[Math.floor(random() * eligible.length)]!;
      killedAt.set(victim, [...(killedAt.get(victim) ?? []), now]);
      const pid = b.servicePid(id, `worker ${victim}`)!;
      // Kill while the map runs: after a seeded share of its tasks finished.
      const after = 5 + Math.floor(random() * 30);
      await new Promise<void>((resolve) => {
        let done = 0;
        for (const f of futures)
          f.addDoneCallback(() => {
            if (++done === after) resolve();
          });
      });
      process.kill(pid, "SIGKILL");
      const result = await client.gather(futures).catch((err: Error) => {
        const state = b.get(id);
        throw new Error(
          `kill ${round + 1} (worker ${victim}): ${err.message}; sandbox ${state?.phase}: ${state?.message}`,
        );
      });
      if (JSON.stringify(result) === JSON.stringify(inputs.map((i) => i * 3 + 1))) correct += 1;
      // The supervisor brings the worker back under its own name before the next kill.
      await expect
        .poll(
          async () =>
            b.servicePid(id, `worker ${victim}`) !== pid && (await workerNames(b, id)).length === 3,
          { timeout: 20_000, interval: 100 },
        )
        .toBe(true);
      expect(b.get(id)?.phase).toBe("Ready");
      survived += 1;
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `worker kills survived: ${survived}/${kills}, results correct: ${correct}/${kills}, ${seconds.toFixed(1)} s`,
    );
    expect(correct).toBe(kills);
    expect(survived).toBe(kills);
    expect(await workerNames(b, id)).toEqual(names);
    expect(phases).toEqual(["Pending", "Provisioning", "Ready"]);
    expect(seconds).toBeLessThan(240);
  }, 300_000);

  it("a scheduler killed -9: the client says its futures were lost in one sentence, the sandbox recovers and new work runs", async () => {
    const id = "sb-heal2";
    const { b, phases } = await readySandbox(id);
    await expect.poll(() => workerNames(b, id), { timeout: 20_000 }).toHaveLength(3);
    const notebookPid = b.servicePid(id, "notebook");
    const address = b.notebookEnvironment(id)!.env.LAUNCHBAY_SCHEDULER;
    client = await connect(b, id);
    const endless = client.submit(() => {
      for (;;) {}
    });
    await expect
      .poll(async () => {
        const up = b.upstream(id, "dashboard")!;
        const s = (await (
          await fetch(new URL("/api/status", up.baseUrl), { headers: up.headers })
        ).json()) as { workers: Array<{ processing: number }> };
        return s.workers.some((w) => w.processing > 0);
      })
      .toBe(true);
    const schedulerPid = b.servicePid(id, "scheduler")!;
    process.kill(schedulerPid, "SIGKILL");
    const error = (await endless.result().then(
      () => undefined,
      (e: unknown) => e,
    )) as Error;
    expect(error).toBeInstanceOf(Error);
    // One plain sentence: no log lines, no JSON, no line breaks.
    expect(error.message).not.toMatch(/[\n{}]/);
    expect(error.message).toMatch(/lost/);
    expect(error.message.split(/[.;:] [A-Z]/)).toHaveLength(1);
    console.log(`the client said: ${error.message}`);

    // The supervisor restarts the scheduler on its port and token; the workers come back.
    await expect
      .poll(
        async () =>
          b.servicePid(id, "scheduler") !== schedulerPid && (await workerNames(b, id)).length === 3,
        { timeout: 30_000, interval: 100 },
      )
      .toBe(true);
    expect(b.notebookEnvironment(id)!.env.LAUNCHBAY_SCHEDULER).toBe(address);
    expect(b.servicePid(id, "notebook")).toBe(notebookPid);
    expect(b.get(id)?.phase).toBe("Ready");
    // The same client reconnects by itself; new work runs.
    await client.whenConnected();
    expect(await client.gather(client.map((x: number) => x * 3, [1, 2, 3, 4]))).toEqual([
      3, 6, 9, 12,
    ]);
    // A fresh client (a new notebook cell after a kernel restart) too.
    const fresh = await connect(b, id);
    try {
      expect(await fresh.submit((x: number) => x + 1, 41).result()).toBe(42);
    } finally {
      fresh.close();
    }
    expect(phases).toEqual(["Pending", "Provisioning", "Ready"]);
    await b.delete(id);
    expect(pidsWithEnvMarker(SANDBOX_ENV_MARKER, id)).toEqual([]);
  }, 180_000);

  it("turns Failed only after repeated crashes within the window, saying why in plain words", async () => {
    const id = "sb-heal3";
    const { b } = await readySandbox(id, {
      maxCrashes: 3,
      windowMs: 60_000,
      initialDelayMs: 50,
      maxDelayMs: 200,
    });
    for (let i = 0; i < 2; i += 1) {
      const pid = b.servicePid(id, "worker 2")!;
      process.kill(pid, "SIGKILL");
      await expect
        .poll(() => b.servicePid(id, "worker 2") !== pid, { timeout: 10_000, interval: 50 })
        .toBe(true);
      expect(b.get(id)?.phase).toBe("Ready");
    }
    process.kill(b.servicePid(id, "worker 2")!, "SIGKILL");
    const failed = await until(b, id, (s) => s?.phase === "Failed");
    expect(failed!.message).toMatch(/^The worker 2 stopped 3 times within 60 seconds/);
    expect(failed!.message).toContain("(the last time it was killed)");
    expect(failed!.message).not.toMatch(/[{}\n]/);
    await expect
      .poll(() => pidsWithEnvMarker(SANDBOX_ENV_MARKER, id), { timeout: 15_000 })
      .toEqual([]);
  }, 180_000);

  it("in a notebook: a map survives a worker kill, a scheduler kill is one plain sentence in the cell, and the next cell runs", async () => {
    const id = "sb-heal4";
    const { b, phases } = await readySandbox(id);
    await expect.poll(() => workerNames(b, id), { timeout: 20_000 }).toHaveLength(3);
    const notebook = b.upstream(id, "notebook")!;
    const kernel = await JupyterKernel.start(notebook.baseUrl, notebook.headers);
    const setup = await kernel.execute(
      'import { Client } from "launchbay";\nconst client = await Client.connect();\nconsole.log("connected");',
    );
    expect(setup.stdout, setup.error).toContain("connected");

    // A worker killed while the cell's map runs: the cell still prints the right sum.
    const mapCell =
      kernel.execute(`const slow = (i: number) => { const end = Date.now() + 40; while (Date.now() < end) {} return i * 2; };
const doubled = await client.gather(client.map(slow, Array.from({ length: 150 }, (_, i) => i)));
console.log("SUM " + doubled.reduce((a, x) => a + x, 0));`);
    await expect.poll(() => busyWorkers(b, id), { timeout: 30_000, interval: 100 }).toBe(true);
    process.kill(b.servicePid(id, "worker 2")!, "SIGKILL");
    const mapped = await mapCell;
    expect(mapped.status, mapped.error).toBe("ok");
    expect(mapped.stdout).toContain(`SUM ${149 * 150}`);

    // The scheduler killed while a cell waits on a future: the cell says so in one sentence.
    const waitCell = kernel.execute(`try {
  await client.submit((ms: number) => { const end = Date.now() + ms; while (Date.now() < end) {} return 1; }, 60_000).result();
} catch (e) {
  console.log("LOST " + (e as Error).message);
}`);
    await expect.poll(() => busyWorkers(b, id), { timeout: 30_000, interval: 100 }).toBe(true);
    process.kill(b.servicePid(id, "scheduler")!, "SIGKILL");
    const waited = await waitCell;
    const lost = waited.stdout.split("\n").filter((l) => l.trim() !== "");
    expect(lost, waited.stdout).toHaveLength(1);
    expect(lost[0]).toMatch(
      /^LOST the connection to the scheduler at ws:\/\/127\.0\.0\.1:\d+ closed.*lost; submit them again$/,
    );
    expect(lost[0]).not.toMatch(/[{}]/);

    // Recovered: the next cell runs new work on the same client.
    await expect.poll(() => workerNames(b, id), { timeout: 30_000, interval: 200 }).toHaveLength(3);
    const next = await kernel.execute(
      'await client.whenConnected();\nconsole.log("NEW " + (await client.gather(client.map((x: number) => x + 1, [1, 2, 3]))).join(","));',
    );
    expect(next.stdout, next.error).toContain("NEW 2,3,4");
    expect(phases).toEqual(["Pending", "Provisioning", "Ready"]);
  }, 240_000);
});
