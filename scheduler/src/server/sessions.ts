/**
 * The connection layer: accepts authenticated WebSockets, runs the hello/welcome
 * handshake, decodes each message into an event for the state machine and carries out
 * the commands it returns. `Connection` batches everything sent in one tick into one
 * frame, so a burst of commands costs one frame per peer.
 */
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import type WebSocket from "ws";
import { z } from "zod";
import {
  ClientToScheduler,
  Connection,
  Hello,
  PROTOCOL_VERSION,
  receiveHello,
  type SchedulerToClient,
  type SchedulerToWorker,
  WorkerToScheduler,
} from "@launchbay/protocol";
import type { Command, SchedulerEvent, SchedulerState } from "../state/index.js";
import type { WireCounters } from "./metrics.js";
import { MISSED_HEARTBEATS, type ResolvedSchedulerOptions } from "./options.js";

type ClientConnection = Connection<ClientToScheduler, SchedulerToClient>;
type WorkerConnection = Connection<WorkerToScheduler, SchedulerToWorker>;

interface WorkerSession {
  id: string;
  name: string;
  connection: WorkerConnection;
  lastSeen: number;
  rss: number;
  executing: number;
  /** The last heartbeats' figures (for the dashboard's charts), oldest first. */
  history: WorkerSample[];
  /** Why the scheduler dropped it, if it did. */
  dropReason: string | undefined;
}

/** One heartbeat's figures: `t` in epoch ms, `cpu` in cores (see the heartbeat message). */
export interface WorkerSample {
  t: number;
  rss: number;
  cpu: number;
  bytesHeld: number;
}

/** Heartbeats kept per worker for the dashboard: two minutes at the default 1 s interval. */
export const WORKER_HISTORY = 120;

export class Sessions {
  readonly clients = new Map<string, ClientConnection>();
  readonly workers = new Map<string, WorkerSession>();
  private pending = new Set<Connection<unknown, unknown>>();
  private nextId = 1;
  private closing = false;
  private heartbeatTimer: NodeJS.Timeout;
  private dirty = new Set<object>();
  private dirtyFlushScheduled = false;
  /** Set once the state machine threw: nothing is fed to it any more. */
  private failure: unknown;

  constructor(
    private state: SchedulerState,
    private options: ResolvedSchedulerOptions,
    readonly schedulerId: string,
    private wire: WireCounters,
    private log: Logger,
    /**
     * Called once when the state machine throws. Its bookkeeping may be half-applied, so
     * the sessions stop feeding it and cut every connection; the caller ends the process.
     */
    private onFatal: (error: unknown, event: SchedulerEvent) => void,
  ) {
    this.heartbeatTimer = setInterval(() => this.checkHeartbeats(), options.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
  }

  /** Takes an authenticated WebSocket through the handshake. */
  async accept(ws: WebSocket, remote: string): Promise<void> {
    const connection = new Connection<unknown, unknown>(ws, z.unknown());
    this.pending.add(connection);
    let hello: Hello | undefined;
    try {
      hello = await receiveHello(connection, Hello, this.options.helloTimeoutMs);
    } finally {
      this.pending.delete(connection);
    }
    if (!hello) return;
    if (this.closing)
      return connection.fail(
        "shutting-down",
        "the scheduler is shutting down: connect again later",
      );
    this.wire.framesIn++;
    this.wire.messagesIn++;
    switch (hello.role) {
      case "client":
        return this.acceptClient(connection, hello.name, remote);
      case "worker":
        return this.acceptWorker(connection, hello, remote);
      case "peer":
        return connection.fail(
          "unexpected-message",
          "the scheduler does not serve data: send get-data to a worker's data address (from who-has)",
        );
    }
  }

  private acceptClient(
    raw: Connection<unknown, unknown>,
    name: string | undefined,
    remote: string,
  ): void {
    const id = `c-${this.nextId++}`;
    const connection = raw.expect(ClientToScheduler) as unknown as ClientConnection;
    this.clients.set(id, connection);
    this.send(connection, {
      type: "welcome",
      protocol: PROTOCOL_VERSION,
      clientId: id,
      schedulerId: this.schedulerId,
    });
    this.run({ type: "client-joined", now: now(), client: id, name });
    this.log.info({ clientId: id, name, remote }, "Client connected");
    connection.onMessages((batch) => {
      this.wire.framesIn++;
      this.wire.messagesIn += batch.length;
      for (const message of batch)
        this.run({ type: "from-client", now: now(), client: id, message });
    });
    void connection.closed.then((info) => {
      this.clients.delete(id);
      this.run({ type: "client-left", now: now(), client: id });
      this.log.info({ clientId: id, code: info.code, error: info.error }, "Client disconnected");
    });
  }

  private acceptWorker(
    raw: Connection<unknown, unknown>,
    hello: Extract<Hello, { role: "worker" }>,
    remote: string,
  ) {
    for (const other of this.workers.values()) {
      if (other.name === hello.name) {
        this.log.warn(
          { workerId: other.id, name: other.name },
          "Replacing worker: a worker with the same name connected",
        );
        this.drop(other, `replaced by a new connection named ${hello.name}`);
      }
    }
    const id = `w-${this.nextId++}`;
    const connection = raw.expect(WorkerToScheduler) as unknown as WorkerConnection;
    const session: WorkerSession = {
      id,
      name: hello.name,
      connection,
      lastSeen: performance.now(),
      rss: 0,
      executing: 0,
      history: [],
      dropReason: undefined,
    };
    this.workers.set(id, session);
    this.send(connection, {
      type: "welcome",
      protocol: PROTOCOL_VERSION,
      workerId: id,
      schedulerId: this.schedulerId,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      inlineLimit: this.options.inlineLimit,
    });
    this.run({
      type: "worker-joined",
      now: now(),
      worker: id,
      name: hello.name,
      address: hello.address,
      nthreads: hello.nthreads,
      memoryLimit: hello.memoryLimit,
      resources: hello.resources,
    });
    this.log.info(
      { workerId: id, name: hello.name, address: hello.address, nthreads: hello.nthreads, remote },
      "Worker registered",
    );
    connection.onMessages((batch) => {
      session.lastSeen = performance.now();
      this.wire.framesIn++;
      this.wire.messagesIn += batch.length;
      for (const message of batch) {
        if (message.type === "heartbeat") {
          session.rss = message.rss;
          session.executing = message.executing;
          session.history.push({
            t: Date.now(),
            rss: message.rss,
            cpu: message.cpu ?? 0,
            bytesHeld: message.bytesHeld,
          });
          if (session.history.length > WORKER_HISTORY) session.history.shift();
        }
        this.run({ type: "from-worker", now: now(), worker: id, message });
      }
    });
    void connection.closed.then((info) => {
      this.workers.delete(id);
      const reason =
        session.dropReason ??
        `connection closed (${info.code}${info.reason ? `: ${info.reason}` : ""})`;
      this.run({ type: "worker-left", now: now(), worker: id, reason });
      this.log.warn({ workerId: id, name: session.name, reason }, "Worker removed");
    });
  }

  /** Live per-worker figures the state machine does not keep. */
  workerLiveness(
    id: string,
  ):
    | { rss: number; executing: number; lastSeenMsAgo: number; history: WorkerSample[] }
    | undefined {
    const s = this.workers.get(id);
    return (
      s && {
        rss: s.rss,
        executing: s.executing,
        history: s.history,
        lastSeenMsAgo: Math.round(performance.now() - s.lastSeen),
      }
    );
  }

  /**
   * Feeds one event to the state machine and carries out its commands. If the state
   * machine throws, its bookkeeping may be half-applied: carrying on would hand clients
   * wrong answers, so the scheduler fails hard instead (`fail`).
   */
  run(event: SchedulerEvent): void {
    if (this.failure !== undefined) return;
    let commands: Command[];
    try {
      commands = this.state.handle(event);
    } catch (error) {
      this.fail(error, event);
      return;
    }
    for (const command of commands) {
      if (command.type === "send-client") {
        const c = this.clients.get(command.client);
        if (c) this.send(c, command.message);
      } else {
        const w = this.workers.get(command.worker);
        if (w) this.send(w.connection, command.message);
      }
    }
  }

  private send<In, Out>(connection: Connection<In, Out>, message: Out): void {
    connection.send(message);
    this.wire.messagesOut++;
    if (!this.dirty.has(connection)) {
      this.dirty.add(connection);
      if (!this.dirtyFlushScheduled) {
        this.dirtyFlushScheduled = true;
        queueMicrotask(() => {
          this.wire.framesOut += this.dirty.size;
          this.dirty.clear();
          this.dirtyFlushScheduled = false;
        });
      }
    }
  }

  private checkHeartbeats(): void {
    const limit = this.options.heartbeatIntervalMs * MISSED_HEARTBEATS;
    const t = performance.now();
    for (const session of this.workers.values()) {
      if (t - session.lastSeen > limit && !session.dropReason) {
        this.drop(
          session,
          `no heartbeat for ${Math.round(t - session.lastSeen)} ms (limit ${limit} ms)`,
        );
      }
    }
  }

  /** Removes a worker at once and closes its connection. */
  private drop(session: WorkerSession, reason: string): void {
    session.dropReason = reason;
    session.connection.terminate();
  }

  private connections(): Connection<unknown, unknown>[] {
    return [
      ...this.pending,
      ...this.clients.values(),
      ...[...this.workers.values()].map((w) => w.connection),
    ] as Connection<unknown, unknown>[];
  }

  /** Stops feeding the state machine, cuts every connection, and reports the failure once. */
  private fail(error: unknown, event: SchedulerEvent): void {
    this.failure = error ?? new Error("the state machine threw undefined");
    this.closing = true;
    clearInterval(this.heartbeatTimer);
    for (const c of this.connections()) c.terminate();
    this.onFatal(error, event);
  }

  /** Closes every connection (clients and workers see close code 1001). */
  async close(timeoutMs = 2000): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeatTimer);
    const all = this.connections();
    for (const c of all) c.close(1001, "scheduler shutting down");
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const c of all) c.terminate();
        resolve();
      }, timeoutMs);
    });
    await Promise.race([Promise.all(all.map((c) => c.closed)), deadline]);
    clearTimeout(timer);
  }
}

function now(): number {
  return performance.timeOrigin + performance.now();
}
