/**
 * A scheduler and N workers as real processes on loopback, for the runtime tests.
 * Ports are 0 (any free port); addresses come from each process's first stdout line.
 * `close()` kills every process group it started (call it from afterAll).
 */
import { randomBytes } from "node:crypto";
import { Client } from "launchbay";
import { assertBuilt, RuntimeProcess, SCHEDULER_CLI, WORKER_CLI } from "./processes.js";

export interface WorkerStatus {
  id: string;
  name: string;
  address: string;
  nthreads: number;
  memoryLimit: number;
  bytesHeld: number;
  processing: number;
}

export interface SchedulerStatus {
  schedulerId: string;
  workers: WorkerStatus[];
  tasks: Record<string, number>;
  clients: number;
}

export interface ClusterOptions {
  workers?: number;
  nthreads?: number;
  token?: string;
  /** Extra scheduler flags, e.g. ["--allowed-failures", "2"]. */
  schedulerArgs?: string[];
  /** Per-worker extra flags. */
  workerArgs?: (index: number) => string[];
  heartbeatIntervalMs?: number;
  /** Extra environment of the scheduler process. */
  schedulerEnv?: NodeJS.ProcessEnv;
}

export interface RunningWorkerProcess {
  name: string;
  address: string;
  process: RuntimeProcess;
}

export class RuntimeCluster {
  readonly workers: RunningWorkerProcess[] = [];
  private readonly processes: RuntimeProcess[] = [];
  private readonly clients: Client[] = [];
  scheduler!: RuntimeProcess;
  address = "";
  private workerCount = 0;

  private constructor(
    readonly token: string,
    private readonly options: ClusterOptions,
  ) {}

  static async start(options: ClusterOptions = {}): Promise<RuntimeCluster> {
    assertBuilt();
    const cluster = new RuntimeCluster(options.token ?? randomBytes(16).toString("hex"), options);
    try {
      await cluster.startScheduler(0);
      await Promise.all(Array.from({ length: options.workers ?? 2 }, () => cluster.addWorker()));
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  get httpUrl(): string {
    return this.address.replace(/^ws:/, "http:");
  }

  /** Starts the scheduler on `port` (0: any free port). */
  async startScheduler(port: number): Promise<RuntimeProcess> {
    const args = [
      "--port",
      String(port),
      "--token",
      this.token,
      "--log-level",
      process.env.LAUNCHBAY_TEST_LOG_LEVEL ?? "warn",
      "--heartbeat-interval",
      String(this.options.heartbeatIntervalMs ?? 500),
      ...(this.options.schedulerArgs ?? []),
    ];
    const scheduler = RuntimeProcess.spawn(
      "scheduler",
      SCHEDULER_CLI,
      args,
      this.options.schedulerEnv,
    );
    this.processes.push(scheduler);
    this.scheduler = scheduler;
    this.address = await scheduler.firstLine();
    return scheduler;
  }

  /** Starts one more worker; resolves once it is registered (printed its address). */
  async addWorker(extraArgs: string[] = []): Promise<RunningWorkerProcess> {
    const index = this.workerCount++;
    const name = `w-${index}`;
    const args = [
      this.address,
      "--token",
      this.token,
      "--name",
      name,
      "--nthreads",
      String(this.options.nthreads ?? 1),
      "--log-level",
      process.env.LAUNCHBAY_TEST_LOG_LEVEL ?? "warn",
      ...(this.options.workerArgs?.(index) ?? []),
      ...extraArgs,
    ];
    const proc = RuntimeProcess.spawn(`worker ${name}`, WORKER_CLI, args);
    this.processes.push(proc);
    const address = await proc.firstLine();
    const worker = { name, address, process: proc };
    this.workers.push(worker);
    return worker;
  }

  worker(name: string): RunningWorkerProcess {
    const worker = this.workers.find((w) => w.name === name);
    if (!worker) throw new Error(`no worker named ${name}`);
    return worker;
  }

  /** A client connected to this cluster, closed by `close()`. */
  async client(): Promise<Client> {
    const client = await Client.connect(this.address, { token: this.token });
    this.clients.push(client);
    return client;
  }

  async status(): Promise<SchedulerStatus> {
    const res = await fetch(`${this.httpUrl}/api/status`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    if (!res.ok) throw new Error(`/api/status answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as SchedulerStatus;
  }

  /**
   * Polls /api/status until `predicate` holds (the scheduler has no push feed for tests);
   * fails with the last status after `timeoutMs`.
   */
  async waitForStatus(
    predicate: (status: SchedulerStatus) => boolean,
    what: string,
    timeoutMs = 20_000,
  ): Promise<SchedulerStatus> {
    const deadline = Date.now() + timeoutMs;
    let last: SchedulerStatus | undefined;
    let lastError: unknown;
    while (Date.now() < deadline) {
      try {
        last = await this.status();
        if (predicate(last)) return last;
      } catch (error) {
        lastError = error;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(
      `timed out waiting for ${what}; last status: ${JSON.stringify(last)}${lastError ? `; last error: ${String(lastError)}` : ""}`,
    );
  }

  /** The last stderr lines (JSON logs) of every process this cluster started. */
  logs(): string {
    return this.processes
      .map((p) => `--- ${p.label} (pid ${p.pid})\n${p.stderrLines.join("\n")}`)
      .join("\n");
  }

  async close(): Promise<void> {
    // LAUNCHBAY_TEST_LOGS=1 prints every process's recent logs, to debug a failing run.
    if (process.env.LAUNCHBAY_TEST_LOGS) console.error(this.logs());
    await Promise.all(this.clients.map((c) => c.close().catch(() => {})));
    await Promise.all(this.processes.map((p) => p.kill()));
  }
}

/** Total tasks the scheduler knows, over all states. */
export function taskTotal(status: SchedulerStatus): number {
  return Object.values(status.tasks).reduce((sum, n) => sum + n, 0);
}
