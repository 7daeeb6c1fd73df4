/**
 * A scheduler and worker processes on this machine, on loopback, with a fresh random
 * token: the single-machine path. The processes are the real CLIs
 * (`launchbay-scheduler`, `launchbay-worker`); `close()` stops them, and they are killed
 * if this process exits without closing.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { generateToken } from "@launchbay/protocol";
import { z } from "zod";
import { Client } from "../client.js";
import { LaunchbayError } from "../errors.js";
import { parseOptions } from "../options.js";
import { CliProcess } from "./child-process.js";

export const LocalClusterOptions = z.strictObject({
  /** Worker processes (default 2). */
  workers: z.number().int().min(0).max(256).optional(),
  /** Task threads per worker (default 1). */
  threadsPerWorker: z.number().int().min(1).max(1024).optional(),
  /** Per-worker memory limit for results: bytes, "2GiB", "500MiB" or "80%". */
  memoryLimit: z.union([z.number().int().positive(), z.string().min(1)]).optional(),
  /** Token for the cluster (default: a fresh random one). */
  token: z.string().min(1).optional(),
  /** Scheduler port (default 0: any free port). */
  port: z.number().int().min(0).max(65535).optional(),
  /** Resources every worker advertises, e.g. { memoryMiB: 1024 }. */
  resources: z.record(z.string(), z.number().nonnegative()).optional(),
  /** Log level of the processes (their JSON logs go to their stderr; default "warn"). */
  logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).optional(),
  /** Extra scheduler flags, e.g. ["--allowed-failures", "5"]. */
  schedulerArgs: z.array(z.string()).optional(),
  /** How long to wait for each process to print its address (default 30 s). */
  startTimeoutMs: z.number().int().positive().optional(),
});
export type LocalClusterOptions = z.input<typeof LocalClusterOptions>;

const live = new Set<CliProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const proc of live) proc.kill();
  });
}

function cliPath(pkg: string, bin: string): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve(`${pkg}/package.json`)), "bin", bin);
}

export class LocalCluster {
  readonly #workers: CliProcess[] = [];
  readonly #clients = new Set<Client>();
  #nextWorker = 0;
  #closed = false;

  private constructor(
    readonly address: string,
    readonly token: string,
    readonly scheduler: CliProcess,
    private readonly options: z.output<typeof LocalClusterOptions>,
  ) {}

  /** Starts a scheduler and `workers` workers; resolves once every worker has registered. */
  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const parsed = parseOptions(LocalClusterOptions, options, "LocalCluster options");
    installExitHook();
    const token = parsed.token ?? generateToken();
    const env: NodeJS.ProcessEnv = { ...process.env, LAUNCHBAY_TOKEN: token };
    delete env.LAUNCHBAY_SCHEDULER;
    const timeout = parsed.startTimeoutMs ?? 30_000;
    const { process: scheduler, firstLine } = await CliProcess.start(
      "the scheduler (launchbay-scheduler)",
      cliPath("@launchbay/scheduler", "launchbay-scheduler.js"),
      [
        "--host",
        "127.0.0.1",
        "--port",
        String(parsed.port ?? 0),
        "--log-level",
        parsed.logLevel ?? "warn",
        ...(parsed.schedulerArgs ?? []),
      ],
      env,
      timeout,
    );
    live.add(scheduler);
    void scheduler.exited.then(() => live.delete(scheduler));
    const cluster = new LocalCluster(firstLine, token, scheduler, parsed);
    try {
      await cluster.scale(parsed.workers ?? 2);
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  /** The worker processes (to inspect pids, or to kill one in a test). */
  get workers(): readonly CliProcess[] {
    return this.#workers;
  }

  /** Starts workers until there are `n` running (it does not stop any). */
  async scale(n: number): Promise<void> {
    const starting: Promise<CliProcess>[] = [];
    for (let i = this.#workers.filter((w) => w.running).length; i < n; i++)
      starting.push(this.addWorker());
    await Promise.all(starting);
  }

  /** Starts one more worker; resolves once it has registered with the scheduler. */
  async addWorker(): Promise<CliProcess> {
    if (this.#closed) throw new LaunchbayError("client-closed", "the LocalCluster is closed");
    const name = `local-${this.#nextWorker++}`;
    const o = this.options;
    const args = [
      this.address,
      "--name",
      name,
      "--nthreads",
      String(o.threadsPerWorker ?? 1),
      "--log-level",
      o.logLevel ?? "warn",
    ];
    if (o.memoryLimit !== undefined) args.push("--memory-limit", String(o.memoryLimit));
    if (o.resources && Object.keys(o.resources).length > 0) {
      args.push(
        "--resources",
        Object.entries(o.resources)
          .map(([k, v]) => `${k}=${v}`)
          .join(","),
      );
    }
    const env = { ...process.env, LAUNCHBAY_TOKEN: this.token };
    const { process: worker } = await CliProcess.start(
      `worker ${name} (launchbay-worker)`,
      cliPath("@launchbay/worker", "launchbay-worker.js"),
      args,
      env,
      o.startTimeoutMs ?? 30_000,
      name,
    );
    live.add(worker);
    void worker.exited.then(() => live.delete(worker));
    this.#workers.push(worker);
    return worker;
  }

  /** A client connected to this cluster (closed with the cluster). */
  async client(options: { name?: string; timeoutMs?: number } = {}): Promise<Client> {
    const client = await Client.connect(this.address, { ...options, token: this.token });
    this.#clients.add(client);
    return client;
  }

  /** Closes its clients and stops every process (SIGTERM, then SIGKILL after 5 s). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#clients].map((c) => c.close()));
    await Promise.all(this.#workers.map((w) => w.stop()));
    await this.scheduler.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
