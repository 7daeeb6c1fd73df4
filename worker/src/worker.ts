/**
 * `startWorker()`: wires the pure `WorkerState` to its edges — the scheduler session,
 * the thread pool, the peer pool (fetching dependencies) and the data server (serving
 * results) — and carries out the state's commands.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DataClient,
  PROTOCOL_VERSION,
  type SchedulerToWorker,
  unsafeBindReason,
} from "@launchbay/protocol";
import type { Logger } from "pino";
import { z } from "zod";
import { type DataServer, startDataServer } from "./data-server.js";
import { WorkerError } from "./errors.js";
import { createLogger } from "./logger.js";
import {
  resolveDefaults,
  type ResolvedWorkerOptions,
  WorkerOptions,
  wsAddress,
} from "./options.js";
import { SchedulerSession } from "./scheduler-session.js";
import type { TaskOutcome } from "./thread-messages.js";
import { ThreadPool } from "./thread-pool.js";
import { type WorkerCommand, type WorkerEvent, WorkerState } from "./worker-state.js";

export interface RunningWorker {
  /** The data port's address, `ws://host:port`, as peers reach it. */
  address: string;
  name: string;
  nthreads: number;
  memoryLimit: number;
  /** Resolves when the worker has stopped: after `close()`, or rejects after a fatal error. */
  finished: Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a worker and resolves once it is registered with the scheduler (it keeps
 * retrying until then, unless the scheduler refuses the token or `signal` aborts).
 */
export async function startWorker(input: WorkerOptions): Promise<RunningWorker> {
  const parsed = WorkerOptions.safeParse(input);
  if (!parsed.success) {
    throw new WorkerError(
      "bad-options",
      `invalid worker options: ${z.prettifyError(parsed.error)}`,
    );
  }
  const options = resolveDefaults(parsed.data);
  const unsafe = unsafeBindReason(options.host, options.token);
  if (unsafe) throw new WorkerError("unsafe-bind", unsafe);
  const logger = (options.logger ?? createLogger(options.logLevel)).child({ worker: options.name });
  return new WorkerRuntime(options, logger).start();
}

class WorkerRuntime {
  private readonly state: WorkerState;
  private readonly peers: DataClient;
  private readonly tempDir: string;
  private pool: ThreadPool | undefined;
  private dataServer: DataServer | undefined;
  private session: SchedulerSession | undefined;
  /** Bumped when the scheduler is lost: replies from before are ignored. */
  private epoch = 0;
  private closing: Promise<void> | undefined;
  private resolveFinished!: () => void;
  private rejectFinished!: (error: Error) => void;
  private readonly finished = new Promise<void>((resolve, reject) => {
    this.resolveFinished = resolve;
    this.rejectFinished = reject;
  });
  private registered!: { resolve: () => void; reject: (error: Error) => void };

  constructor(
    private readonly options: ResolvedWorkerOptions,
    private readonly logger: Logger,
  ) {
    this.state = new WorkerState({ memoryLimit: options.memoryLimit, name: options.name });
    this.peers = new DataClient({ token: options.token, logger });
    this.tempDir = mkdtempSync(join(tmpdir(), `launchbay-${options.name}-`));
    this.finished.catch(() => {}); // callers observe it through `finished`
  }

  async start(): Promise<RunningWorker> {
    const { options, logger } = this;
    const registered = new Promise<void>((resolve, reject) => {
      this.registered = { resolve, reject };
    });
    registered.catch(() => {}); // awaited below; may reject before we get there
    const onAbort = () =>
      void this.close(new WorkerError("closed", "the worker was stopped before it registered"));
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (options.signal?.aborted)
        throw new WorkerError("closed", "the worker was stopped before it started");
      this.pool = await ThreadPool.start({
        size: options.nthreads,
        moduleDir: join(this.tempDir, "modules"),
        onOutcome: (outcome) => this.onOutcome(outcome),
        onFatal: (error) => void this.close(error),
        logger,
      });
      this.dataServer = await startDataServer({
        host: options.host,
        port: options.port,
        token: options.token,
        source: this.state,
        logger,
      });
      const address = wsAddress(options.advertiseHost, this.dataServer.port);
      this.session = new SchedulerSession({
        url: options.scheduler.replace(/\/$/, ""),
        token: options.token,
        hello: {
          type: "hello",
          protocol: PROTOCOL_VERSION,
          role: "worker",
          name: options.name,
          address,
          nthreads: options.nthreads,
          memoryLimit: options.memoryLimit,
          resources: options.resources,
        },
        logger,
        ...(options.reconnect ? { backoff: options.reconnect } : {}),
        onConnected: (_connection, welcome) => {
          this.perform(this.state.handle({ type: "connected", inlineLimit: welcome.inlineLimit }));
          this.registered.resolve();
        },
        onMessages: (messages) => this.onMessages(messages),
        onLost: () => {
          this.epoch++;
          this.perform(this.state.handle({ type: "scheduler-lost" }));
        },
        heartbeat: () => ({
          bytesHeld: this.state.bytesHeld,
          executing: this.pool?.executing ?? 0,
        }),
        onFatal: (error) => void this.close(error),
      });
      if (this.closing)
        throw new WorkerError("closed", "the worker was stopped before it registered");
      this.session.start();
      logger.info(
        {
          scheduler: options.scheduler,
          address,
          nthreads: options.nthreads,
          memoryLimit: options.memoryLimit,
        },
        "Worker started; registering with the scheduler",
      );
      await registered;
      return {
        address,
        name: options.name,
        nthreads: options.nthreads,
        memoryLimit: options.memoryLimit,
        finished: this.finished,
        close: () => this.close(),
      };
    } catch (error) {
      await this.close(error as Error);
      throw error;
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  private onMessages(messages: SchedulerToWorker[]): void {
    for (const message of messages) {
      try {
        this.onMessage(message);
      } catch (error) {
        this.logger.error(
          { err: error, message: message.type },
          "Failed to handle a scheduler message",
        );
      }
    }
  }

  private onMessage(message: SchedulerToWorker): void {
    switch (message.type) {
      case "define-function":
        this.pool?.define(message);
        return;
      case "put-module":
        this.pool?.putModule(message.hash, message.code);
        return;
      case "free-code":
        this.pool?.forget(message.functions, message.modules);
        return;
      case "compute-task":
        this.handle({ type: "task-assigned", task: message });
        return;
      case "free-keys":
        this.handle({ type: "free-keys", keys: message.keys });
        return;
      case "restart":
        // client.restart(): the process stays; closing the connection takes the path of a
        // lost scheduler (every task, result and running computation dropped), then the
        // session registers again at once as a fresh worker.
        this.logger.info("Restarting on the scheduler's request");
        this.session?.restart();
        return;
      case "put-data":
        this.handle({ type: "data-put", items: message.items });
        return;
      case "welcome":
        this.logger.warn("The scheduler sent a second welcome; ignoring it");
        return;
      case "error":
        this.logger.error(
          { code: message.code },
          `The scheduler reported a protocol error: ${message.message}`,
        );
        return;
    }
  }

  private onOutcome(outcome: TaskOutcome): void {
    if (outcome.ok) {
      this.handle({
        type: "task-finished",
        key: outcome.key,
        data: outcome.data,
        durationMs: outcome.durationMs,
      });
    } else {
      this.handle({
        type: "task-failed",
        key: outcome.key,
        error: outcome.error,
        durationMs: outcome.durationMs,
      });
    }
  }

  private handle(event: WorkerEvent): void {
    this.perform(this.state.handle(event));
  }

  private perform(commands: WorkerCommand[]): void {
    for (const command of commands) {
      switch (command.type) {
        case "send":
          this.session?.send(command.message);
          break;
        case "fetch": {
          const epoch = this.epoch;
          void this.peers
            .fetch(command.address, command.keys, command.nbytes)
            .then(({ items, missing }) => {
              if (epoch !== this.epoch || this.closing) return;
              this.handle({
                type: "dependencies-fetched",
                address: command.address,
                items,
                missing,
              });
            });
          break;
        }
        case "execute":
          this.pool?.run(command.key, command.fn, command.args, command.deps, command.moved);
          break;
        case "cancel":
          this.pool?.cancel(command.key);
          break;
        case "cancel-all":
          this.pool?.cancelAll();
          break;
      }
    }
  }

  /** Stops everything; `error` marks a fatal stop (reported through `finished`). */
  close(error?: Error): Promise<void> {
    this.closing ??= (async () => {
      if (error && !(error instanceof WorkerError && error.code === "closed")) {
        this.logger.error({ err: error }, "Worker stopping after a fatal error");
      } else {
        this.logger.info("Worker shutting down");
      }
      this.registered?.reject(
        error ?? new WorkerError("closed", "the worker was closed before it registered"),
      );
      await this.session?.close();
      this.peers.close();
      await this.dataServer?.close();
      await this.pool?.close();
      rmSync(this.tempDir, { recursive: true, force: true });
      if (error && !(error instanceof WorkerError && error.code === "closed"))
        this.rejectFinished(error);
      else this.resolveFinished();
    })();
    return this.closing;
  }
}
