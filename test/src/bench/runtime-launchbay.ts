/** launchbay's side of the runtime benchmark: a LocalCluster of real processes on loopback. */
import { readFileSync } from "node:fs";
import { LocalCluster } from "launchbay";
import type { RuntimeBenchConfig } from "./runtime-config.js";
import { percentile, type RuntimeFigures } from "./runtime-results.js";

/** Resident set size of a process, from /proc/<pid>/status (Linux). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

const noop = (x: number) => x;

/** Both sides warm up with the same number of tasks before (a): a quarter of the run, at most 5,000. */
export function warmUpTasks(tasks: number): number {
  return Math.min(5_000, Math.ceil(tasks / 4));
}
const inc = (x: number) => x + 1;

export async function runLaunchbay(
  config: RuntimeBenchConfig,
  log: (line: string) => void,
): Promise<RuntimeFigures> {
  const cluster = await LocalCluster.start({
    workers: config.workers,
    threadsPerWorker: config.threads,
  });
  try {
    const client = await cluster.client({ name: "bench" });
    const range = (n: number) => Array.from({ length: n }, (_, i) => i);

    // (a) tiny-task throughput
    await client.gather(client.map(noop, range(warmUpTasks(config.tasks))));
    let start = performance.now();
    const mapped = client.map(noop, range(config.tasks));
    await client.gather(mapped);
    const throughputTasksPerS = config.tasks / ((performance.now() - start) / 1000);
    for (const f of mapped) f.release();
    log(`launchbay (a) ${throughputTasksPerS.toFixed(0)} tasks/s`);

    // (b) sequential round trip
    for (let i = 0; i < 200; i++) await client.submit(inc, i).result();
    const samples: number[] = [];
    for (let i = 0; i < config.roundTrips; i++) {
      const t0 = performance.now();
      const f = client.submit(inc, i);
      await f.result();
      samples.push(performance.now() - t0);
      f.release();
    }
    samples.sort((a, b) => a - b);
    const roundTripP50Ms = percentile(samples, 0.5);
    const roundTripP99Ms = percentile(samples, 0.99);
    log(`launchbay (b) p50 ${roundTripP50Ms.toFixed(3)} ms, p99 ${roundTripP99Ms.toFixed(3)} ms`);

    // (c) dependency chain
    start = performance.now();
    let f = client.submit(inc, 0);
    for (let i = 1; i < config.chain; i++) f = client.submit(inc, f);
    const value = await f.result();
    const chainS = (performance.now() - start) / 1000;
    if (value !== config.chain)
      throw new Error(`chain computed ${value}, expected ${config.chain}`);
    log(`launchbay (c) ${chainS.toFixed(3)} s`);

    // (d) worker-to-worker transfer: made on worker A, consumed by a task pinned to worker B
    let transferGBPerS: number | undefined;
    const names = cluster.workers.map((w) => w.name);
    if (names.length >= 2) {
      const nbytes = config.transferMB * 1_000_000;
      let best = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 3; i++) {
        const a = client.submitWith(
          { workers: names[0] },
          (n: number) => new Uint8Array(n).fill(1),
          nbytes,
        );
        await client.wait([a]);
        const t0 = performance.now();
        const b = client.submitWith(
          { workers: names[1] },
          (bytes: Uint8Array) => bytes.byteLength,
          a,
        );
        const size = await b.result();
        best = Math.min(best, performance.now() - t0);
        if (size !== nbytes)
          throw new Error(`transfer delivered ${size} bytes, expected ${nbytes}`);
        a.release();
        b.release();
      }
      transferGBPerS = nbytes / (best / 1000) / 1e9;
      log(`launchbay (d) ${transferGBPerS.toFixed(2)} GB/s`);
    }

    // (e) scheduler memory with many tasks held
    const before = rssBytes(cluster.scheduler.pid);
    const held = client.map(noop, range(config.held));
    await client.wait(held);
    const after = rssBytes(cluster.scheduler.pid);
    const schedulerRssDeltaMiB = (after - before) / 2 ** 20;
    log(`launchbay (e) +${schedulerRssDeltaMiB.toFixed(1)} MiB for ${config.held} tasks`);
    for (const h of held) h.release();

    return {
      throughputTasksPerS,
      roundTripP50Ms,
      roundTripP99Ms,
      chainS,
      transferGBPerS,
      schedulerRssDeltaMiB,
    };
  } finally {
    await cluster.close();
  }
}
