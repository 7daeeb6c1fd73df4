/**
 * `npm run bench:runtime`: launchbay vs Dask distributed, side by side on this machine,
 * with the same number of worker processes and threads (BENCH_WORKERS, BENCH_THREADS).
 * Measures (a) tiny-task throughput, (b) submit→result round trip, (c) a dependency
 * chain, (d) worker-to-worker transfer, (e) scheduler memory with many tasks held, and
 * prints a table with the ratios and the targets.
 */
import { availableParallelism, loadavg } from "node:os";
import { benchConfig } from "./runtime-config.js";
import { runDask } from "./runtime-dask.js";
import { runLaunchbay } from "./runtime-launchbay.js";
import { comparisonTable, medianFigures, type RuntimeFigures } from "./runtime-results.js";

async function main(): Promise<number> {
  const config = benchConfig(process.env);
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  log(
    `${config.workers} workers × ${config.threads} threads on ${availableParallelism()} cores, Node ${process.versions.node}`,
  );
  // Rounds alternate launchbay and Dask, so a load change on a shared machine hits both
  // sides alike; each figure is the median of its side's rounds, and the load average
  // during each side is printed with them.
  const ours: RuntimeFigures[] = [];
  const theirs: RuntimeFigures[] = [];
  const load = { launchbay: [] as number[], dask: [] as number[] };
  let dask: Awaited<ReturnType<typeof runDask>> | undefined;
  let daskError: string | undefined;
  for (let round = 1; round <= config.rounds; round++) {
    log(`round ${round}/${config.rounds}: launchbay`);
    load.launchbay.push(loadavg()[0]!);
    ours.push(await runLaunchbay(config, log));
    if (daskError) continue;
    log(`round ${round}/${config.rounds}: Dask distributed (this takes a while)`);
    load.dask.push(loadavg()[0]!);
    try {
      dask = await runDask(config);
      theirs.push(dask);
    } catch (error) {
      daskError = (error as Error).message;
    }
  }
  const launchbay = medianFigures(ours);
  const daskMedian = theirs.length ? medianFigures(theirs) : undefined;
  const avg = (xs: number[]) => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : 0);
  log(
    `1-minute load average at the start of each side's rounds: launchbay ${load.launchbay.map((l) => l.toFixed(1)).join(", ")} (mean ${avg(load.launchbay).toFixed(1)}), ` +
      `Dask ${load.dask.map((l) => l.toFixed(1)).join(", ")} (mean ${avg(load.dask).toFixed(1)})`,
  );
  process.stdout.write(
    `\nlaunchbay vs Dask distributed ${dask?.version ?? ""}: ${config.workers} worker processes × ${config.threads} threads, ` +
      `${availableParallelism()} cores, median of ${config.rounds} alternating rounds\n\n`,
  );
  process.stdout.write(`${comparisonTable(launchbay, daskMedian, config)}\n`);
  if (daskError) {
    process.stderr.write(`\nDask could not run: ${daskError}\n`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench:runtime failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
