/**
 * The client's connection to the scheduler: dial + hello/welcome, request/reply
 * (who-has, info), and reconnection. When the connection closes, the handler hears
 * `onSessionLost` at once (every key of that session is gone at the scheduler) and the
 * link redials in the background with backoff; messages sent meanwhile wait for the next
 * session.
 */
import {
  ClientWelcome,
  type ClientToScheduler,
  dial,
  type InfoReply,
  type RestartReply,
  PROTOCOL_VERSION,
  SchedulerToClient,
  type WhoHasReply,
  type Connection,
} from "@launchbay/protocol";
import type { z } from "zod";
import { LaunchbayError, SchedulerLostError } from "./errors.js";

export type Outgoing = z.input<typeof ClientToScheduler>;
export type Incoming = z.infer<typeof SchedulerToClient>;
type Reply = z.infer<typeof WhoHasReply> | z.infer<typeof InfoReply> | z.infer<typeof RestartReply>;
type Request = { type: "who-has"; keys: string[] } | { type: "info" } | { type: "restart" };

export interface LinkHandler {
  /** A batch of messages from the scheduler (replies to requests were already delivered). */
  onMessages(messages: Incoming[]): void;
  /** The connection closed: keys of that session are gone. */
  onSessionLost(error: SchedulerLostError): void;
}

export interface LinkOptions {
  token?: string | undefined;
  name?: string | undefined;
  timeoutMs: number;
}

interface Pending {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

const MAX_BACKOFF_MS = 5_000;

export class SchedulerLink {
  /** Increments with every (re)connection. */
  session = 0;
  clientId = "";
  schedulerId = "";
  private connection: Connection<Incoming, Outgoing> | undefined;
  private queued: Outgoing[] = [];
  private pending = new Map<number, Pending>();
  private nextRequestId = 0;
  private closing = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnected: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(
    readonly address: string,
    private readonly options: LinkOptions,
    private readonly handler: LinkHandler,
  ) {}

  /** Makes the first connection; rejects (ConnectError) if it fails. */
  start(): Promise<void> {
    return this.connect();
  }

  get connected(): boolean {
    return this.connection?.open === true;
  }

  send(message: Outgoing): void {
    const connection = this.connection;
    if (connection?.open) connection.send(message);
    else this.queued.push(message);
  }

  request(message: { type: "who-has"; keys: string[] }): Promise<z.infer<typeof WhoHasReply>>;
  request(message: { type: "info" }): Promise<z.infer<typeof InfoReply>>;
  request(message: { type: "restart" }): Promise<z.infer<typeof RestartReply>>;
  request(message: Request): Promise<Reply> {
    if (this.closing) return Promise.reject(closedError());
    const requestId = this.nextRequestId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(requestId, { resolve, reject });
      this.send({ ...message, requestId });
    });
  }

  /** Resolves once connected (at once if connected now). */
  whenConnected(): Promise<void> {
    if (this.connected) return Promise.resolve();
    if (!this.reconnected) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.reconnected = { promise, resolve };
    }
    return this.reconnected.promise;
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    const error = closedError();
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    this.queued = [];
    this.connection?.close(1000, "client closed");
  }

  private async connect(): Promise<void> {
    const { connection, welcome } = await dial<Incoming, Outgoing, z.infer<typeof ClientWelcome>>(
      this.address,
      SchedulerToClient,
      {
        token: this.options.token,
        hello: {
          type: "hello",
          protocol: PROTOCOL_VERSION,
          role: "client",
          ...(this.options.name ? { name: this.options.name } : {}),
        },
        welcome: ClientWelcome,
        timeoutMs: this.options.timeoutMs,
      },
    );
    if (this.closing) {
      connection.close(1000, "client closed");
      return;
    }
    this.session++;
    this.clientId = welcome.clientId;
    this.schedulerId = welcome.schedulerId;
    this.connection = connection;
    connection.onMessages((batch) => this.receive(batch));
    void connection.closed.then((info) =>
      this.lost(connection, info.error?.message ?? info.reason),
    );
    const queued = this.queued;
    this.queued = [];
    for (const message of queued) connection.send(message);
    this.reconnected?.resolve();
    this.reconnected = undefined;
  }

  private receive(batch: Incoming[]): void {
    for (const message of batch) {
      if (
        message.type === "who-has-reply" ||
        message.type === "info-reply" ||
        message.type === "restart-reply"
      ) {
        const pending = this.pending.get(message.requestId);
        this.pending.delete(message.requestId);
        pending?.resolve(message);
      }
    }
    this.handler.onMessages(batch);
  }

  private lost(connection: Connection<Incoming, Outgoing>, detail: string): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    if (this.closing) return;
    const error = new SchedulerLostError(this.address, detail || undefined);
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    this.handler.onSessionLost(error);
    this.scheduleReconnect(100);
  }

  private scheduleReconnect(delayMs: number): void {
    this.reconnectTimer = setTimeout(() => {
      this.connect().catch(() => this.scheduleReconnect(Math.min(delayMs * 2, MAX_BACKOFF_MS)));
    }, delayMs);
    this.reconnectTimer.unref();
  }
}

function closedError(): LaunchbayError {
  return new LaunchbayError(
    "client-closed",
    "the client is closed: connect a new one with Client.connect()",
  );
}
