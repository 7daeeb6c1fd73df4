/**
 * Bounded memory for shipped code, against real processes: the scheduler frees functions
 * and modules nothing holds any more (its `launchbay_scheduler_code_bytes` gauge returns
 * to zero), and refuses code over its `--max-code-bytes` budget with a `CodeBudgetError`
 * that says what to do, while code within the budget runs.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CodeBudgetError, type Future } from "launchbay";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { RuntimeCluster } from "./cluster.js";

const clusters: RuntimeCluster[] = [];
const dirs: string[] = [];

afterEach(async () => {
  while (clusters.length) await clusters.pop()!.close();
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function start(schedulerArgs: string[] = []): Promise<RuntimeCluster> {
  const cluster = await RuntimeCluster.start({ workers: 1, schedulerArgs });
  clusters.push(cluster);
  return cluster;
}

async function metric(cluster: RuntimeCluster, name: string): Promise<number> {
  const res = await fetch(`${cluster.httpUrl}/metrics`, {
    headers: { authorization: `Bearer ${cluster.token}` },
  });
  const text = await res.text();
  const match = new RegExp(`^${name} (\\d+(?:\\.\\d+)?(?:e\\+\\d+)?)$`, "m").exec(text);
  if (!match) throw new Error(`${name} is not among the scheduler's metrics`);
  return Number(match[1]);
}

/** Polls a metric until `predicate` holds (the client releases in the next tick). */
async function waitForMetric(
  cluster: RuntimeCluster,
  name: string,
  predicate: (value: number) => boolean,
  timeoutMs = 20_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await metric(cluster, name);
    if (predicate(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  return Math.round(kib / 1024);
}

/** A distinct function whose body holds a string literal of `bytes` characters. */
function bigFunction(i: number, bytes: number): (n: number) => number {
  const literal = String(i % 10).repeat(bytes);
  return new Function(`return function big${i}(n) { return "${literal}".length + n; }`)() as (
    n: number,
  ) => number;
}

describe("shipped code memory", () => {
  it("frees 1,000 distinct 100 KB functions once their futures are released (scheduler code-bytes back to 0)", async () => {
    const cluster = await start();
    const client = await cluster.client();
    const pid = cluster.scheduler.pid;
    const rssBefore = rssMiB(pid);
    const N = 1000;
    const BATCH = 50;
    for (let b = 0; b < N; b += BATCH) {
      const futures: Future<number>[] = [];
      for (let i = b; i < b + BATCH; i++) futures.push(client.submit(bigFunction(i, 100_000), i));
      expect(await client.gather(futures)).toEqual(futures.map((_, j) => 100_000 + b + j));
      for (const f of futures) f.release();
    }
    const codeBytes = await waitForMetric(
      cluster,
      "launchbay_scheduler_code_bytes",
      (v) => v === 0,
    );
    const items = await metric(cluster, 'launchbay_scheduler_code_items{kind="function"}');
    const rssAfter = rssMiB(pid);
    const workerRss = rssMiB(cluster.workers[0]!.process.pid);
    console.log(
      `after ${N} distinct 100 KB functions, released: scheduler code bytes ${codeBytes}, ` +
        `functions held ${items}, scheduler RSS ${rssBefore} -> ${rssAfter} MiB, worker RSS ${workerRss} MiB`,
    );
    expect(codeBytes).toBe(0);
    expect(items).toBe(0);
    // The client still works, and the function it uses again is shipped again.
    const again = bigFunction(7, 100_000);
    expect(await client.submit(again, 1).result()).toBe(100_001);
    expect(await metric(cluster, "launchbay_scheduler_code_bytes")).toBeGreaterThan(100_000);
  });

  it("refuses functions over --max-code-bytes with a CodeBudgetError saying what to do, and runs them once room is freed", async () => {
    const cluster = await start(["--max-code-bytes", "1MiB"]);
    const client = await cluster.client();
    // Control: three 300 KB functions fit in 1 MiB and run.
    const held = [0, 1, 2].map((i) => client.submit(bigFunction(i, 300_000), i));
    expect(await client.gather(held)).toEqual([300_000, 300_001, 300_002]);
    // The attack: one more, while the others are held, would take it past the budget.
    const over = client.submit(bigFunction(3, 300_000), 3);
    const error = await over.exception();
    expect(error).toBeInstanceOf(CodeBudgetError);
    expect(error).toMatchObject({ code: "code-budget" });
    expect(error?.message).toMatch(
      /function big3 \(293\.\d KiB\) was refused: the scheduler holds 87\d\.\d KiB of shipped functions and modules, and this would take it over its budget of 1\.0 MiB \(--max-code-bytes\)\. Release futures you no longer need/,
    );
    expect(await metric(cluster, "launchbay_scheduler_code_bytes")).toBeLessThanOrEqual(2 ** 20);
    over.release();
    // Releasing two futures frees their functions; the same function then runs.
    held[0]!.release();
    held[1]!.release();
    await waitForMetric(cluster, "launchbay_scheduler_code_bytes", (v) => v < 400_000);
    expect(await client.submit(bigFunction(3, 300_000), 30).result()).toBe(300_030);
  });

  it("refuses a module over --max-code-bytes, naming it", async () => {
    const cluster = await start(["--max-code-bytes", "1MiB"]);
    const client = await cluster.client();
    const dir = await mkdtemp(join(tmpdir(), "lb-code-"));
    dirs.push(dir);
    await writeFile(
      join(dir, "big.ts"),
      `export const table = "${"t".repeat(1_200_000)}";\nexport function size(n: number) { return table.length + n; }\n`,
    );
    await writeFile(join(dir, "small.ts"), "export function twice(n: number) { return 2 * n; }\n");
    const big = await client.uploadModule({ path: "big.ts", cwd: dir });
    const error = await client.submit(big.fn<(n: number) => number>("size"), 1).exception();
    expect(error).toBeInstanceOf(CodeBudgetError);
    expect(error?.message).toContain("module big.ts");
    expect(error?.message).toContain("over its budget of 1.0 MiB");
    // Control: a module within the budget runs.
    const small = await client.uploadModule({ path: "small.ts", cwd: dir });
    expect(await client.submit(small.fn<(n: number) => number>("twice"), 21).result()).toBe(42);
  });
});
