/**
 * Connections to workers' data ports, for fetching large results directly (`get-data`),
 * cached per address and dropped when they close.
 */
import {
  type Connection,
  dial,
  type PeerToWorker,
  PeerWelcome,
  PROTOCOL_VERSION,
  WorkerToPeer,
} from "@launchbay/protocol";
import type { z } from "zod";

type FromWorker = z.infer<typeof WorkerToPeer>;
type DataReply = Extract<FromWorker, { type: "data" }>;

interface PeerConnection {
  connection: Connection<FromWorker, PeerToWorker>;
  pending: Map<number, { resolve: (reply: DataReply) => void; reject: (error: Error) => void }>;
}

export interface FetchedData {
  items: Map<string, Uint8Array>;
  missing: string[];
}

export class PeerPool {
  private readonly peers = new Map<string, Promise<PeerConnection>>();
  private nextRequestId = 0;
  private closed = false;

  constructor(
    private readonly token: string | undefined,
    private readonly timeoutMs: number,
  ) {}

  get size(): number {
    return this.peers.size;
  }

  async getData(address: string, keys: string[]): Promise<FetchedData> {
    const peer = await this.peer(address);
    const requestId = this.nextRequestId++;
    const reply = await new Promise<DataReply>((resolve, reject) => {
      peer.pending.set(requestId, { resolve, reject });
      peer.connection.send({ type: "get-data", requestId, keys });
    });
    const items = new Map<string, Uint8Array>();
    for (const item of reply.items) items.set(item.key, item.data);
    return { items, missing: reply.missing };
  }

  close(): void {
    this.closed = true;
    for (const peer of this.peers.values()) {
      peer.then((p) => p.connection.close(1000, "client closed")).catch(() => {});
    }
    this.peers.clear();
  }

  private peer(address: string): Promise<PeerConnection> {
    if (this.closed) return Promise.reject(new Error("the client is closed"));
    let peer = this.peers.get(address);
    if (!peer) {
      peer = this.open(address);
      this.peers.set(address, peer);
      peer.catch(() => this.peers.delete(address));
    }
    return peer;
  }

  private async open(address: string): Promise<PeerConnection> {
    const { connection } = await dial<FromWorker, PeerToWorker, z.infer<typeof PeerWelcome>>(
      address,
      WorkerToPeer,
      {
        token: this.token,
        hello: { type: "hello", protocol: PROTOCOL_VERSION, role: "peer" },
        welcome: PeerWelcome,
        timeoutMs: this.timeoutMs,
      },
    );
    const peer: PeerConnection = { connection, pending: new Map() };
    connection.onMessages((batch) => {
      for (const message of batch) {
        if (message.type === "data") {
          const pending = peer.pending.get(message.requestId);
          peer.pending.delete(message.requestId);
          pending?.resolve(message);
        }
      }
    });
    void connection.closed.then((info) => {
      this.peers.delete(address);
      const error = new Error(
        `the connection to worker ${address} closed${info.error ? ` (${info.error.message})` : ""}`,
      );
      for (const pending of peer.pending.values()) pending.reject(error);
      peer.pending.clear();
    });
    if (this.closed) connection.close(1000, "client closed");
    return peer;
  }
}
