/** Settings of `npm run bench:runtime`, from the environment (BENCH_*), validated. */
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";

const count = (fallback: number, min = 1) => z.coerce.number().int().min(min).default(fallback);

export const BenchConfig = z.object({
  BENCH_WORKERS: count(2),
  BENCH_THREADS: count(1),
  BENCH_TASKS: count(20_000),
  BENCH_ROUND_TRIPS: count(1_000, 500),
  BENCH_CHAIN: count(1_000),
  BENCH_TRANSFER_MB: count(100),
  BENCH_HELD: count(100_000),
  /** Rounds, each launchbay then Dask: the medians are compared (load drifts on a shared machine). */
  BENCH_ROUNDS: count(3),
  /** Python with `distributed` installed (scripts/setup.sh jupyter makes it). */
  BENCH_PYTHON: z.string().optional(),
  LAUNCHBAY_CACHE: z.string().optional(),
});

export interface RuntimeBenchConfig {
  workers: number;
  threads: number;
  tasks: number;
  roundTrips: number;
  chain: number;
  transferMB: number;
  held: number;
  rounds: number;
  python: string;
}

export function benchConfig(env: NodeJS.ProcessEnv): RuntimeBenchConfig {
  const parsed = BenchConfig.safeParse(env);
  if (!parsed.success) {
    throw new Error(
      `bad benchmark setting: ${z.prettifyError(parsed.error)} (BENCH_* variables take whole numbers)`,
    );
  }
  const e = parsed.data;
  const cache = e.LAUNCHBAY_CACHE ?? join(homedir(), ".cache", "launchbay");
  return {
    workers: e.BENCH_WORKERS,
    threads: e.BENCH_THREADS,
    tasks: e.BENCH_TASKS,
    roundTrips: e.BENCH_ROUND_TRIPS,
    chain: e.BENCH_CHAIN,
    transferMB: e.BENCH_TRANSFER_MB,
    held: e.BENCH_HELD,
    rounds: e.BENCH_ROUNDS,
    python: e.BENCH_PYTHON ?? join(cache, "venv", "bin", "python"),
  };
}
