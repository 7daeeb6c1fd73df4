/**
 * The one client of workers' data ports, used by workers (dependencies from peers) and by
 * clients (large results). Connections are opened per address on first use and kept. Keys
 * asked of the same address in the same tick go out as one `get-data`; a single key of at
 * least `BULK_MIN_BYTES` is fetched with a bulk transfer of its own (`bulk-transfer.ts`:
 * no WebSocket copies). `fetch()` never rejects: keys that could not be fetched
 * (connection refused, closed, or not held there) come back in `missing`, and `problems`
 * says why for an address that failed.
 */
import type { z } from "zod";
import { BULK_MIN_BYTES, bulkFetch } from "./bulk-transfer.js";
import { type Connection, dial } from "./connection.js";
import { PeerWelcome, PROTOCOL_VERSION, type PeerToWorker, WorkerToPeer } from "./messages.js";

/** Where warnings go (a pino logger fits). */
export interface DataClientLogger {
  warn(fields: object, message: string): void;
}

export interface FetchResult {
  items: { key: string; data: Uint8Array }[];
  missing: string[];
  /** Why the keys in `missing` could not be fetched, when the address failed. */
  problem?: string;
}

interface Peer {
  address: string;
  connection: Promise<Connection<WorkerToPeer, PeerToWorker>>;
  /** Keys to ask for at the end of this tick, and who waits for them. */
  queued: Set<string>;
  queuedWaiters: ((result: FetchResult) => void)[];
  flushScheduled: boolean;
  requests: Map<number, { keys: string[]; waiters: ((result: FetchResult) => void)[] }>;
}

export interface DataClientOptions {
  token: string | undefined;
  logger?: DataClientLogger;
  connectTimeoutMs?: number;
  /** Who is closing, for the close reason the workers see (default "worker closing"). */
  closeReason?: string;
}

export class DataClient {
  private readonly peers = new Map<string, Peer>();
  private nextRequestId = 0;
  private closed = false;
  /** Aborts bulk fetches in flight when the pool closes. */
  private readonly bulkAbort = new AbortController();

  constructor(private readonly options: DataClientOptions) {}

  /**
   * Asks `address` for `keys` (`nbytes` in total, as far as the scheduler knows); resolves
   * with every key either in `items` or `missing`.
   */
  fetch(address: string, keys: string[], nbytes = 0): Promise<FetchResult> {
    if (this.closed)
      return Promise.resolve({
        items: [],
        missing: [...keys],
        problem: "the data client is closed",
      });
    if (keys.length === 1 && nbytes >= BULK_MIN_BYTES) return this.fetchBulk(address, keys[0]!);
    const peer = this.peer(address);
    for (const key of keys) peer.queued.add(key);
    const result = new Promise<FetchResult>((resolve) => peer.queuedWaiters.push(resolve));
    if (!peer.flushScheduled) {
      peer.flushScheduled = true;
      queueMicrotask(() => this.flush(peer));
    }
    return result;
  }

  private async fetchBulk(address: string, key: string): Promise<FetchResult> {
    const result = await bulkFetch(address, key, {
      token: this.options.token,
      idleTimeoutMs: this.options.connectTimeoutMs ?? 10_000,
      signal: this.bulkAbort.signal,
    });
    if (result.status === "held") return { items: [{ key, data: result.data }], missing: [] };
    if (result.status === "failed") {
      this.options.logger?.warn({ peer: address, key }, `Cannot fetch from peer: ${result.reason}`);
      return { items: [], missing: [key], problem: result.reason };
    }
    return { items: [], missing: [key] };
  }

  /** Open connections (for tests and metrics). */
  get size(): number {
    return this.peers.size;
  }

  close(): void {
    this.closed = true;
    this.bulkAbort.abort();
    for (const peer of this.peers.values()) {
      this.fail(peer, "the data client is closing");
      const reason = this.options.closeReason ?? "worker closing";
      peer.connection.then((c) => c.close(1001, reason)).catch(() => {});
    }
    this.peers.clear();
  }

  private peer(address: string): Peer {
    let peer = this.peers.get(address);
    if (peer) return peer;
    const connection = dial<WorkerToPeer, PeerToWorker, z.infer<typeof PeerWelcome>>(
      address,
      WorkerToPeer,
      {
        token: this.options.token,
        hello: { type: "hello", protocol: PROTOCOL_VERSION, role: "peer" },
        welcome: PeerWelcome,
        timeoutMs: this.options.connectTimeoutMs ?? 10_000,
      },
    ).then(({ connection }) => connection);
    const created: Peer = {
      address,
      connection,
      queued: new Set(),
      queuedWaiters: [],
      flushScheduled: false,
      requests: new Map(),
    };
    peer = created;
    this.peers.set(address, created);
    connection.then(
      (c) => {
        c.onMessages((messages) => this.receive(created, messages));
        void c.closed.then((info) =>
          this.drop(
            created,
            `connection closed (code ${info.code}${info.reason ? `: ${info.reason}` : ""})`,
          ),
        );
      },
      (error: Error) => this.drop(created, error.message),
    );
    return created;
  }

  private flush(peer: Peer): void {
    peer.flushScheduled = false;
    if (peer.queued.size === 0) return;
    const keys = [...peer.queued];
    const waiters = peer.queuedWaiters;
    peer.queued = new Set();
    peer.queuedWaiters = [];
    const requestId = this.nextRequestId++;
    peer.requests.set(requestId, { keys, waiters });
    peer.connection.then(
      (c) => {
        if (!peer.requests.has(requestId)) return; // already failed
        if (!c.open) return this.drop(peer, "connection closed");
        c.send({ type: "get-data", requestId, keys });
      },
      () => {}, // drop() answers the waiters
    );
  }

  private receive(peer: Peer, messages: WorkerToPeer[]): void {
    for (const message of messages) {
      if (message.type === "data") {
        const request = peer.requests.get(message.requestId);
        if (!request) continue;
        peer.requests.delete(message.requestId);
        const result: FetchResult = { items: message.items, missing: message.missing };
        for (const resolve of request.waiters) resolve(result);
      } else if (message.type === "error") {
        this.options.logger?.warn(
          { peer: peer.address, code: message.code },
          `Peer refused a request: ${message.message}`,
        );
      }
    }
  }

  /** Forgets a broken connection; everything it owed comes back missing. */
  private drop(peer: Peer, why: string): void {
    if (this.peers.get(peer.address) === peer) this.peers.delete(peer.address);
    if (peer.requests.size > 0 || peer.queued.size > 0) {
      this.options.logger?.warn({ peer: peer.address }, `Cannot fetch from peer: ${why}`);
    }
    this.fail(peer, why);
  }

  private fail(peer: Peer, why: string): void {
    for (const request of peer.requests.values()) {
      for (const resolve of request.waiters)
        resolve({ items: [], missing: request.keys, problem: why });
    }
    peer.requests.clear();
    const queued = [...peer.queued];
    const waiters = peer.queuedWaiters;
    peer.queued = new Set();
    peer.queuedWaiters = [];
    for (const resolve of waiters) resolve({ items: [], missing: queued, problem: why });
  }
}
