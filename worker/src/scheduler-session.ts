/**
 * The worker's connection to its scheduler: dials with a `WorkerHello`, hands every
 * batch of messages on, sends heartbeats from this (main) thread, and when the
 * connection is lost reports it (the worker drops all its state) and redials with
 * backoff, forever, until closed.
 */
import {
  type Connection,
  ConnectError,
  dial,
  type SchedulerToWorker,
  SchedulerToWorker as SchedulerToWorkerSchema,
  type WorkerHello,
  WorkerWelcome,
  type WorkerToScheduler,
} from "@launchbay/protocol";
import type { Logger } from "pino";
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from "./backoff.js";
import { WorkerError } from "./errors.js";

export type SchedulerConnection = Connection<SchedulerToWorker, WorkerToScheduler>;
type Welcome = import("zod").infer<typeof WorkerWelcome>;

export interface SchedulerSessionOptions {
  url: string;
  token: string | undefined;
  hello: WorkerHello;
  logger: Logger;
  backoff?: BackoffOptions;
  /** Registered: `welcome` arrived on a fresh connection. */
  onConnected(connection: SchedulerConnection, welcome: Welcome): void;
  onMessages(messages: SchedulerToWorker[]): void;
  /** The connection was lost; everything it carried is void. */
  onLost(): void;
  /** A heartbeat's figures, read when it is due. */
  heartbeat(): { bytesHeld: number; executing: number };
  /** The first connection was refused for good (wrong token). */
  onFatal(error: WorkerError): void;
}

export class SchedulerSession {
  private connection: SchedulerConnection | undefined;
  private closed = false;
  private everConnected = false;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: SchedulerSessionOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  get connected(): boolean {
    return this.connection?.open ?? false;
  }

  send(message: WorkerToScheduler): void {
    this.connection?.send(message);
  }

  /** Drops the connection and registers again (after the worker dropped all its state). */
  restart(): void {
    this.connection?.close(1000, "restarting");
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    this.stopHeartbeat();
    const connection = this.connection;
    connection?.close(1001, "worker shutting down");
    // While connected, wait for the loop to see the close; a dial in flight is not waited
    // for (it may take its whole timeout): the loop closes a late connection itself.
    if (connection) await this.loop;
  }

  private async run(): Promise<void> {
    const { logger } = this.options;
    let attempt = 0;
    while (!this.closed) {
      let connection: SchedulerConnection;
      let welcome: Welcome;
      try {
        ({ connection, welcome } = await dial<SchedulerToWorker, WorkerToScheduler, Welcome>(
          this.options.url,
          SchedulerToWorkerSchema,
          { token: this.options.token, hello: this.options.hello, welcome: WorkerWelcome },
        ));
      } catch (error) {
        if (this.closed) return;
        if (
          error instanceof ConnectError &&
          error.reason === "unauthorized" &&
          !this.everConnected
        ) {
          this.options.onFatal(new WorkerError("unauthorized", error.message, { cause: error }));
          return;
        }
        const delay = backoffDelay(
          attempt++,
          Math.random(),
          this.options.backoff ?? DEFAULT_BACKOFF,
        );
        logger.warn(
          { delayMs: delay, err: (error as Error).message },
          "Cannot reach the scheduler; retrying",
        );
        await this.sleep(delay);
        continue;
      }
      if (this.closed) {
        connection.close(1001, "worker shutting down");
        return;
      }
      attempt = 0;
      this.everConnected = true;
      this.connection = connection;
      logger.info(
        { workerId: welcome.workerId, schedulerId: welcome.schedulerId },
        "Registered with the scheduler",
      );
      connection.onMessages((messages) => this.options.onMessages(messages));
      this.startHeartbeat(connection, welcome.heartbeatIntervalMs);
      this.options.onConnected(connection, welcome);
      const info = await connection.closed;
      this.stopHeartbeat();
      this.connection = undefined;
      if (this.closed) return;
      logger.warn(
        { code: info.code, reason: info.reason, error: info.error },
        "Lost the scheduler; dropping all tasks and data, then reconnecting",
      );
      this.options.onLost();
    }
  }

  private startHeartbeat(connection: SchedulerConnection, intervalMs: number): void {
    this.stopHeartbeat();
    // process.cpuUsage() counts every thread of the process: the task threads too.
    let lastCpu = process.cpuUsage();
    let lastAt = performance.now();
    this.heartbeatTimer = setInterval(() => {
      const { bytesHeld, executing } = this.options.heartbeat();
      const used = process.cpuUsage(lastCpu);
      const at = performance.now();
      const cpu = (used.user + used.system) / 1000 / Math.max(1, at - lastAt);
      lastCpu = process.cpuUsage();
      lastAt = at;
      connection.send({
        type: "heartbeat",
        bytesHeld,
        executing,
        rss: process.memoryUsage.rss(),
        cpu: Math.round(cpu * 1000) / 1000,
      });
    }, intervalMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }
}
