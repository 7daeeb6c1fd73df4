/**
 * A protocol connection over one WebSocket: batches outgoing messages (everything sent
 * in the same tick goes out as one frame), decodes and validates incoming frames, and
 * answers a malformed frame or message with an `error` message before closing.
 */
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import WebSocket, { type WebSocketServer } from "ws";
import { z } from "zod";
import { presentedToken, tokenMatches } from "./auth.js";
import { type BrowserGuard, refusalResponse, refuseHost, refuseOrigin } from "./browser-guard.js";
import { fastCheck, fastChecksFor } from "./fast-checks.js";
import { encodeFrame, FrameReader } from "./frame.js";
import {
  type ErrorMessage,
  type Hello,
  PROTOCOL_VERSION,
  type ProtocolErrorCode,
} from "./messages.js";

/** Largest WebSocket message accepted (a frame holding a large result). */
export const MAX_FRAME_BYTES = 2 ** 31 - 1;
/** Close code used after a protocol error (WebSocket "policy violation"). */
export const CLOSE_PROTOCOL_ERROR = 1008;

const SEND_OPTIONS = { binary: true, fin: true } as const;

export interface CloseInfo {
  code: number;
  reason: string;
  /** Set when this side closed after a protocol error. */
  error?: { code: ProtocolErrorCode; message: string };
}

export class Connection<In, Out> {
  readonly closed: Promise<CloseInfo>;
  private outbox: (Out | ErrorMessage)[] = [];
  private flushScheduled = false;
  private handler: ((messages: In[]) => void) | undefined;
  private pending: In[][] = [];
  private failure: CloseInfo["error"];
  private isClosed = false;
  private readonly reader = new FrameReader();
  /** Hand-written checks for the hot message types of the current schema (zod for the rest). */
  private fast: ReturnType<typeof fastChecksFor>;

  constructor(
    readonly ws: WebSocket,
    private schema: z.ZodType<In>,
  ) {
    ws.binaryType = "nodebuffer";
    this.fast = fastChecksFor(schema);
    this.closed = new Promise((resolve) => {
      ws.once("close", (code, reason) => {
        this.isClosed = true;
        resolve({
          code,
          reason: reason.toString(),
          ...(this.failure ? { error: this.failure } : {}),
        });
      });
    });
    ws.on("error", () => {
      // 'close' follows every 'error'; the close promise reports it.
    });
    ws.on("message", (data, isBinary) => this.receive(data as Buffer, isBinary));
  }

  get open(): boolean {
    return !this.isClosed && this.ws.readyState === WebSocket.OPEN;
  }

  /** Bytes queued in the socket but not yet written. */
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** Switches the schema incoming messages are decoded with (after the hello). */
  expect<Next>(schema: z.ZodType<Next>): Connection<Next, Out> {
    const self = this as unknown as Connection<Next, Out>;
    self.schema = schema;
    self.fast = fastChecksFor(schema);
    // Batches that arrived before the switch were checked against the old schema only.
    const pending = self.pending as unknown[][];
    self.pending = [];
    for (const batch of pending) {
      const checked = self.validate(batch);
      if (!checked) break;
      self.pending.push(checked);
    }
    return self;
  }

  /**
   * Puts messages that arrived in the same frame as a handshake message back in front of
   * the queue, validated with the current schema (`dial()` uses it for what follows the welcome).
   */
  requeue(messages: unknown[]): void {
    if (messages.length === 0) return;
    const checked = this.validate(messages);
    if (!checked) return;
    if (this.handler) this.handler(checked);
    else this.pending.unshift(checked);
  }

  /** Receives every decoded batch, in order. Batches that arrived before are delivered first. */
  onMessages(handler: (messages: In[]) => void): void {
    this.handler = handler;
    const pending = this.pending;
    this.pending = [];
    for (const batch of pending) handler(batch);
  }

  /** Waits for the next batch (used for the hello/welcome exchange). */
  nextBatch(timeoutMs: number): Promise<In[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.handler = undefined;
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      const onClose = this.closed.then((info) => {
        clearTimeout(timer);
        reject(new ConnectionClosedError(info));
      });
      void onClose;
      this.handler = (batch) => {
        clearTimeout(timer);
        this.handler = undefined;
        resolve(batch);
      };
      const first = this.pending.shift();
      if (first) this.handler(first);
    });
  }

  send(message: Out): void {
    if (this.isClosed) return;
    this.outbox.push(message);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Sends everything queued now, as one frame (a header message, then one message per blob). */
  flush(): void {
    this.flushScheduled = false;
    if (this.outbox.length === 0 || this.ws.readyState !== WebSocket.OPEN) return;
    const chunks = encodeFrame(this.outbox);
    this.outbox = [];
    for (let i = 0; i < chunks.length; i++) this.ws.send(chunks[i]!, SEND_OPTIONS);
  }

  /** Sends a protocol error, then closes. */
  fail(code: ProtocolErrorCode, message: string): void {
    if (this.isClosed) return;
    this.failure = { code, message };
    this.outbox = [{ type: "error", code, message }];
    this.flush();
    this.ws.close(CLOSE_PROTOCOL_ERROR, truncate(`${code}: ${message}`, 120));
  }

  close(code = 1000, reason = ""): void {
    if (this.isClosed) return;
    this.flush();
    this.ws.close(code, truncate(reason, 120));
  }

  terminate(): void {
    this.ws.terminate();
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.failure) return;
    if (!isBinary) {
      this.fail("bad-frame", "text frames are not part of the protocol; send binary frames");
      return;
    }
    const decoded = this.reader.push(data);
    if (decoded === undefined) return; // blobs of this frame are still to come
    if (!decoded.ok) {
      this.fail("bad-frame", decoded.error);
      return;
    }
    const batch = this.validate(decoded.messages);
    if (!batch) return;
    if (this.handler) this.handler(batch);
    else this.pending.push(batch);
  }

  /** Checks messages against the current schema; on the first bad one, fails the connection. */
  private validate(messages: unknown[]): In[] | undefined {
    const batch: In[] = [];
    for (const raw of messages) {
      const fast = fastCheck(this.fast, raw);
      if (fast !== undefined) {
        batch.push(fast as In);
        continue;
      }
      const parsed = this.schema.safeParse(raw);
      if (!parsed.success) {
        const type =
          typeof raw === "object" && raw !== null ? (raw as { type?: unknown }).type : undefined;
        this.fail(
          "bad-message",
          `message${typeof type === "string" ? ` "${type}"` : ""} is invalid: ${z.prettifyError(parsed.error)}`,
        );
        return undefined;
      }
      if (isErrorMessage(parsed.data))
        this.failure = { code: parsed.data.code, message: parsed.data.message };
      batch.push(parsed.data);
    }
    return batch;
  }
}

function isErrorMessage(m: unknown): m is ErrorMessage {
  return typeof m === "object" && m !== null && (m as { type?: unknown }).type === "error";
}

function truncate(s: string, bytes: number): string {
  const b = Buffer.from(s);
  return b.byteLength <= bytes ? s : `${b.subarray(0, bytes - 3).toString()}...`;
}

export class ConnectionClosedError extends Error {
  override name = "ConnectionClosedError";
  constructor(readonly info: CloseInfo) {
    super(
      info.error
        ? `${info.error.code}: ${info.error.message}`
        : `connection closed (code ${info.code}${info.reason ? `: ${info.reason}` : ""})`,
    );
  }
}

// ---------------------------------------------------------------------------------------
// dialling

function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

export class ConnectError extends Error {
  override name = "ConnectError";
  constructor(
    message: string,
    readonly reason: "unauthorized" | "unreachable" | "refused" | "timeout",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface DialOptions<Welcome> {
  token?: string | undefined;
  hello: Hello;
  /** Schema of the peer's first message. */
  welcome: z.ZodType<Welcome>;
  timeoutMs?: number;
}

/**
 * Opens an authenticated connection, sends the hello and waits for the welcome.
 * Rejects with a `ConnectError` saying what went wrong and what to do.
 */
export async function dial<In, Out, Welcome>(
  url: string,
  schema: z.ZodType<In>,
  options: DialOptions<Welcome>,
): Promise<{ connection: Connection<In, Out>; welcome: Welcome }> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const ws = new WebSocket(url, {
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
    handshakeTimeout: timeoutMs,
    // A zero masking key makes `ws` skip masking (no copy of every outgoing payload).
    // Masking protects HTTP intermediaries from scripts in browsers; our dialers are
    // launchbay's own Node processes, and the scheduler and data ports accept any key.
    generateMask: zeroMask,
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error & { code?: string }) => {
      cleanup();
      reject(
        new ConnectError(
          `cannot reach ${url}: ${error.message}. Is the scheduler running, and is the address right?`,
          error.code === "ECONNREFUSED" ? "refused" : "unreachable",
          { cause: error },
        ),
      );
    };
    const onUnexpected = (_req: unknown, res: IncomingMessage) => {
      cleanup();
      // terminate() on a connecting socket emits 'error' on the next tick: swallow it,
      // this rejection already says what happened.
      ws.on("error", () => {});
      ws.terminate();
      reject(
        res.statusCode === 401
          ? new ConnectError(
              `${url} refused the token (HTTP 401): pass the sandbox's token (LAUNCHBAY_TOKEN or the token option)`,
              "unauthorized",
            )
          : new ConnectError(
              `${url} answered HTTP ${res.statusCode} instead of opening a WebSocket`,
              "refused",
            ),
      );
    };
    const onOpen = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      ws.off("error", onError);
      ws.off("unexpected-response", onUnexpected);
      ws.off("open", onOpen);
    };
    ws.on("error", onError);
    ws.on("unexpected-response", onUnexpected);
    ws.on("open", onOpen);
  });
  const connection = new Connection<unknown, Out | Hello>(ws, z.unknown());
  connection.send(options.hello);
  let batch: unknown[];
  try {
    batch = await connection.nextBatch(timeoutMs);
  } catch (error) {
    connection.terminate();
    if (error instanceof ConnectionClosedError) {
      throw new ConnectError(
        `${url} closed the connection during the handshake: ${error.message}`,
        "refused",
        {
          cause: error,
        },
      );
    }
    throw new ConnectError(`${url} did not answer the hello within ${timeoutMs} ms`, "timeout", {
      cause: error,
    });
  }
  const first = batch[0] as { type?: unknown; code?: unknown; message?: unknown } | undefined;
  if (first?.type === "error") {
    connection.terminate();
    throw new ConnectError(
      `${url} refused the connection: ${String(first.code)}: ${String(first.message)}`,
      "refused",
    );
  }
  const welcome = options.welcome.safeParse(first);
  if (!welcome.success) {
    connection.fail("bad-message", `expected a welcome: ${z.prettifyError(welcome.error)}`);
    throw new ConnectError(
      `${url} sent an invalid welcome: ${z.prettifyError(welcome.error)}`,
      "refused",
    );
  }
  // Messages the peer sent right after its welcome, in the same frame, belong to the session.
  const typed = connection.expect(schema) as unknown as Connection<In, Out>;
  typed.requeue(batch.slice(1));
  return { connection: typed, welcome: welcome.data };
}

// ---------------------------------------------------------------------------------------
// accepting

/**
 * Routes WebSocket upgrades on `server` to `wss`. Before any WebSocket message is read it
 * refuses, with HTTP 403, a browser (an `Origin` header) whose origin is not allowed and,
 * on a tokenless endpoint, a `Host` that is not a loopback name (`browser-guard.ts`); then,
 * with HTTP 401, requests that do not present `guard.token`.
 */
export function acceptUpgrades(
  server: Server,
  wss: WebSocketServer,
  guard: BrowserGuard,
  onConnection: (ws: WebSocket, req: IncomingMessage) => void,
  /** Handlers for other upgrade protocols, by lower-case `Upgrade` header (authenticated the same way). */
  otherUpgrades: Record<string, (req: IncomingMessage, socket: Duplex, head: Buffer) => void> = {},
): void {
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refusal = refuseHost(req, guard) ?? refuseOrigin(req, guard);
    if (refusal) {
      socket.end(refusalResponse(refusal));
      return;
    }
    if (!tokenMatches(guard.token, presentedToken(req))) {
      socket.end(
        "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n" +
          "missing or wrong token: send Authorization: Bearer <token>\n",
      );
      return;
    }
    const upgrade = req.headers.upgrade?.toLowerCase();
    if (upgrade !== undefined && Object.hasOwn(otherUpgrades, upgrade)) {
      otherUpgrades[upgrade]!(req, socket, head);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req));
  });
}

/**
 * Server side of the handshake: waits for a valid hello of the protocol version this
 * peer speaks. On anything else, answers with an error and closes; resolves undefined.
 */
export async function receiveHello<H>(
  connection: Connection<unknown, unknown>,
  schema: z.ZodType<H>,
  timeoutMs = 10_000,
): Promise<H | undefined> {
  let batch: unknown[];
  try {
    batch = await connection.nextBatch(timeoutMs);
  } catch {
    connection.terminate();
    return undefined;
  }
  const hello = schema.safeParse(batch[0]);
  if (!hello.success || batch.length !== 1) {
    connection.fail(
      hello.success ? "unexpected-message" : "bad-message",
      hello.success
        ? "send nothing after hello until welcome arrives"
        : `expected hello: ${z.prettifyError(hello.error)}`,
    );
    return undefined;
  }
  const protocol = (hello.data as { protocol?: unknown }).protocol;
  if (protocol !== PROTOCOL_VERSION) {
    connection.fail(
      "protocol-mismatch",
      `this peer speaks launchbay protocol ${PROTOCOL_VERSION}, not ${String(protocol)}: use matching launchbay versions`,
    );
    return undefined;
  }
  return hello.data;
}
