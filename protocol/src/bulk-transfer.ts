/**
 * Bulk transfer: how a worker fetches one large dependency from a peer's data port
 * without the copies a WebSocket message costs (`ws` gathers the socket's chunks into a
 * new buffer; Node allocates a fresh buffer for every read). The peer asks for the key on
 * its own connection; the kernel then reads the bytes straight into the one buffer that
 * holds the value afterwards (`net` `onread` with a buffer per read).
 *
 * Wire (on the data port, authenticated like every upgrade there):
 *
 *   → GET /bulk?key=<key> HTTP/1.1, `Authorization: Bearer <token>`,
 *     `Connection: Upgrade`, `Upgrade: launchbay-bulk`
 *   ← HTTP/1.1 101 Switching Protocols (Upgrade: launchbay-bulk)
 *   ← 1 byte: 1 = held, 0 = not held here
 *   ← if held: 8 bytes (uint64 LE) length N, then N bytes; then the peer ends the socket
 *
 * A missing or bad key gets HTTP 400 instead of the 101; a wrong token HTTP 401.
 */
import type { IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { MAX_FRAME_BYTES } from "./connection.js";
import { Key } from "./messages.js";

export const BULK_UPGRADE = "launchbay-bulk";
/** Dependencies at least this large are fetched with a bulk transfer. */
export const BULK_MIN_BYTES = 1024 * 1024;

const HEAD_END = Buffer.from("\r\n\r\n");
const MAX_HEAD_BYTES = 16 * 1024;

/** Server side: answers one bulk request (the upgrade is already authenticated). */
export function serveBulk(
  req: IncomingMessage,
  socket: Duplex,
  lookup: (key: string) => Uint8Array | undefined,
): void {
  const key = Key.safeParse(new URL(req.url ?? "/", "http://x").searchParams.get("key"));
  if (!key.success) {
    socket.end(
      "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n" +
        "a bulk request names one key: GET /bulk?key=<key>\n",
    );
    return;
  }
  socket.on("error", () => socket.destroy()); // the fetcher went away: nothing to do
  const data = lookup(key.data);
  const accept = `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${BULK_UPGRADE}\r\n\r\n`;
  if (!data) {
    socket.end(Buffer.concat([Buffer.from(accept), Buffer.from([0])]));
    return;
  }
  const prefix = Buffer.alloc(accept.length + 9);
  prefix.write(accept, 0, "latin1");
  prefix[accept.length] = 1;
  prefix.writeBigUInt64LE(BigInt(data.byteLength), accept.length + 1);
  (socket as Socket).cork?.();
  socket.write(prefix);
  socket.write(data);
  socket.end();
  (socket as Socket).uncork?.();
}

export interface BulkFetchOptions {
  token: string | undefined;
  /** Gives up (resolves `failed`) when the peer stays silent this long. */
  idleTimeoutMs: number;
  /** Aborting gives up at once (resolves `failed`). */
  signal?: AbortSignal;
}

export type BulkFetchResult =
  | { status: "held"; data: Uint8Array }
  | { status: "missing" }
  | { status: "failed"; reason: string };

/**
 * Fetches `key` from the data port at `address` (`ws://host:port`). Never rejects:
 * a peer that cannot be reached or misbehaves gives `failed` with the reason.
 */
export function bulkFetch(
  address: string,
  key: string,
  options: BulkFetchOptions,
): Promise<BulkFetchResult> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      resolve({ status: "failed", reason: `${address} is not a data port address` });
      return;
    }
    const scratch = Buffer.allocUnsafe(64 * 1024);
    let head: Buffer = Buffer.alloc(0);
    let target: Buffer | undefined;
    let received = 0;
    let settled = false;
    const finish = (result: BulkFetchResult) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(result);
    };
    /** Bytes of the response before the value: status line, headers, flag and length. */
    const onHead = (chunk: Buffer) => {
      head = head.byteLength === 0 ? Buffer.from(chunk) : Buffer.concat([head, chunk]);
      const end = head.indexOf(HEAD_END);
      if (end < 0) {
        if (head.byteLength > MAX_HEAD_BYTES)
          finish({ status: "failed", reason: "the peer's answer has no end of headers" });
        return;
      }
      const statusLine = head.subarray(0, head.indexOf("\r\n")).toString("latin1");
      if (!/^HTTP\/1\.1 101 /.test(statusLine)) {
        finish({ status: "failed", reason: `the peer answered ${statusLine}` });
        return;
      }
      const body = end + HEAD_END.byteLength;
      if (head.byteLength < body + 1) return;
      if (head[body] === 0) return finish({ status: "missing" });
      if (head[body] !== 1 || head.byteLength < body + 9) {
        if (head[body] !== 1)
          finish({ status: "failed", reason: "the peer's answer has a bad flag byte" });
        return;
      }
      const length = head.readBigUInt64LE(body + 1);
      if (length > BigInt(MAX_FRAME_BYTES)) {
        finish({ status: "failed", reason: `the peer offers ${length} bytes, more than allowed` });
        return;
      }
      target = Buffer.allocUnsafeSlow(Number(length));
      const extra = head.subarray(body + 9);
      if (extra.byteLength > target.byteLength) {
        finish({ status: "failed", reason: "the peer sent more bytes than it announced" });
        return;
      }
      target.set(extra, 0);
      received = extra.byteLength;
      if (received === target.byteLength) finish({ status: "held", data: target });
    };
    const socket = connect({
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port: Number(url.port || 80),
      onread: {
        // Until the value's length is known, reads land in `scratch`; then straight in the value.
        buffer: () =>
          target && received < target.byteLength ? target.subarray(received) : scratch,
        callback: (n: number, buffer: Uint8Array) => {
          if (settled) return false;
          if (buffer === scratch) {
            if (target) {
              finish({ status: "failed", reason: "the peer sent more bytes than it announced" });
              return false;
            }
            onHead(scratch.subarray(0, n));
            return true;
          }
          received += n;
          if (target && received === target.byteLength) finish({ status: "held", data: target });
          return true;
        },
      },
    });
    const onAbort = () => finish({ status: "failed", reason: "the fetch was aborted" });
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("close", () => options.signal?.removeEventListener("abort", onAbort));
    socket.setNoDelay(true);
    socket.setTimeout(options.idleTimeoutMs, () =>
      finish({
        status: "failed",
        reason: `no data from ${address} for ${options.idleTimeoutMs} ms`,
      }),
    );
    socket.on("error", (error) => finish({ status: "failed", reason: error.message }));
    socket.on("close", () =>
      finish({
        status: "failed",
        reason: target
          ? `${address} closed the connection after ${received} of ${target.byteLength} bytes`
          : `${address} closed the connection before answering`,
      }),
    );
    socket.on("connect", () => {
      const auth = options.token ? `Authorization: Bearer ${options.token}\r\n` : "";
      socket.write(
        `GET /bulk?key=${encodeURIComponent(key)} HTTP/1.1\r\nHost: ${url.host}\r\n${auth}` +
          `Connection: Upgrade\r\nUpgrade: ${BULK_UPGRADE}\r\n\r\n`,
      );
    });
  });
}
