/**
 * The worker's data port: a WebSocket server where peers (other workers fetching
 * dependencies, clients gathering large results) say `hello` as `peer` and send
 * `get-data`, or fetch one large value with a bulk transfer (`bulk-transfer.ts`). No browser
 * needs it: an upgrade carrying an `Origin` header is refused (HTTP 403), and so is, when
 * the worker has no token, any request whose `Host` is not a loopback name (DNS rebinding).
 * Every upgrade must present the token (HTTP 401 otherwise); plain HTTP requests get 401
 * without the token and 426 with it.
 */
import { createServer, type Server } from "node:http";
import type { Duplex } from "node:stream";
import type { AddressInfo } from "node:net";
import {
  acceptUpgrades,
  Connection,
  MAX_FRAME_BYTES,
  PeerHello,
  BULK_UPGRADE,
  type PeerToWorker,
  PeerToWorker as PeerToWorkerSchema,
  presentedToken,
  PROTOCOL_VERSION,
  receiveHello,
  refuseHost,
  serveBulk,
  tokenMatches,
  type WorkerToPeer,
} from "@launchbay/protocol";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import { z } from "zod";
import { WorkerError } from "./errors.js";

export interface DataSource {
  getData(keys: readonly string[]): {
    items: { key: string; data: Uint8Array }[];
    missing: string[];
  };
}

export interface DataServerOptions {
  host: string;
  port: number;
  token: string | undefined;
  source: DataSource;
  logger: Logger;
}

export interface DataServer {
  /** The port actually listened on. */
  port: number;
  close(): Promise<void>;
}

export async function startDataServer(options: DataServerOptions): Promise<DataServer> {
  const { token, source, logger } = options;
  const guard = { token, allowedOrigins: [] };
  const server: Server = createServer((req, res) => {
    const refusal = refuseHost(req, guard);
    if (refusal) {
      res
        .writeHead(refusal.status, { "content-type": "text/plain; charset=utf-8" })
        .end(refusal.body);
      return;
    }
    if (!tokenMatches(token, presentedToken(req))) {
      res
        .writeHead(401, { "content-type": "text/plain" })
        .end("missing or wrong token: send Authorization: Bearer <token>\n");
      return;
    }
    res
      .writeHead(426, { "content-type": "text/plain", upgrade: "websocket" })
      .end(
        "this is a launchbay worker's data port: connect with a WebSocket and say hello as a peer\n",
      );
  });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
  });
  const connections = new Set<Connection<unknown, WorkerToPeer>>();
  const bulkSockets = new Set<Duplex>();
  acceptUpgrades(
    server,
    wss,
    guard,
    (ws) => {
      const connection = new Connection<unknown, WorkerToPeer>(ws, z.unknown());
      connections.add(connection);
      void connection.closed.then(() => connections.delete(connection));
      void serve(connection, source).catch((error: Error) => {
        logger.warn({ err: error }, "Peer connection failed");
        connection.terminate();
      });
    },
    {
      [BULK_UPGRADE]: (req, socket) => {
        bulkSockets.add(socket);
        socket.once("close", () => bulkSockets.delete(socket));
        serveBulk(req, socket, (key) => source.getData([key]).items[0]?.data);
      },
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new WorkerError(
          "listen-failed",
          `cannot listen on ${options.host}:${options.port} for the data port: ${error.message}` +
            (error.code === "EADDRINUSE" ? ". Pick another --port, or 0 for any free port" : ""),
          { cause: error },
        ),
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    async close() {
      for (const c of connections) c.close(1001, "worker shutting down");
      for (const s of bulkSockets) s.destroy();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function serve(
  connection: Connection<unknown, WorkerToPeer>,
  source: DataSource,
): Promise<void> {
  const hello = await receiveHello(connection, PeerHello);
  if (!hello) return;
  connection.send({ type: "welcome", protocol: PROTOCOL_VERSION });
  connection.expect(PeerToWorkerSchema).onMessages((messages: PeerToWorker[]) => {
    for (const message of messages) {
      const { items, missing } = source.getData(message.keys);
      connection.send({
        type: "data",
        requestId: message.requestId,
        items,
        missing,
      });
    }
  });
}
