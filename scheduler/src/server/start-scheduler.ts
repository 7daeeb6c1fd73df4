/**
 * `startScheduler()`: one port for WebSocket (clients and workers) and HTTP.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import pino, { type Logger } from "pino";
import { WebSocketServer } from "ws";
import { SchedulerError } from "../errors.js";
import {
  acceptUpgrades,
  MAX_FRAME_BYTES,
  unsafeBindReason,
  unsafeOriginsReason,
} from "@launchbay/protocol";
import { type SchedulerEvent, SchedulerState } from "../state/index.js";
import { createHttpHandler } from "./http-routes.js";
import { createMetrics, type WireCounters } from "./metrics.js";
import {
  SchedulerOptions,
  type SchedulerOptionsInput,
  type SchedulerTestHooks,
} from "./options.js";
import { Sessions } from "./sessions.js";

export interface RunningScheduler {
  /** `ws://host:port`: what clients and workers dial. */
  address: string;
  /** `http://host:port`: the same port, for /api/status, /metrics, /dashboard/. */
  httpUrl: string;
  schedulerId: string;
  port: number;
  /** The state machine (read-only use: status, tests). */
  state: SchedulerState;
  /** Closes every connection and stops listening. */
  close(): Promise<void>;
}

export async function startScheduler(input: SchedulerOptionsInput = {}): Promise<RunningScheduler> {
  const { logger, onFatal, testHooks, ...rest } = input;
  const parsed = SchedulerOptions.safeParse(rest);
  if (!parsed.success) {
    throw new SchedulerError(
      "bad-flag",
      `invalid scheduler options: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  const options = parsed.data;
  const token = options.token === "" ? undefined : options.token;
  const unsafe = unsafeBindReason(options.host, token);
  if (unsafe) throw new SchedulerError("unsafe-bind", unsafe);
  const unsafeOrigins = unsafeOriginsReason(token, options.allowedOrigins);
  if (unsafeOrigins) throw new SchedulerError("unsafe-origin", unsafeOrigins);
  const guard = { token, allowedOrigins: options.allowedOrigins };

  const schedulerId = `s-${randomBytes(6).toString("hex")}`;
  const log: Logger = (logger ?? pino({ level: "silent" })).child({ schedulerId });
  const state = new SchedulerState({
    allowedFailures: options.allowedFailures,
    schedulerId,
    maxCodeBytes: options.maxCodeBytes,
  });
  if (testHooks) injectFaults(state, testHooks);
  const wire: WireCounters = { framesIn: 0, messagesIn: 0, framesOut: 0, messagesOut: 0 };
  let stopAfterFailure = () => {};
  const sessions = new Sessions(state, options, schedulerId, wire, log, (error, event) => {
    const err = error instanceof Error ? error : new Error(String(error));
    log.fatal(
      { err, event: describeEvent(event), story: (err as { story?: unknown }).story },
      "Scheduler state machine failed: its state can no longer be trusted, stopping " +
        "(every client sees the scheduler lost; a supervisor restarts the scheduler)",
    );
    stopAfterFailure();
    onFatal?.(err);
  });
  const registry = createMetrics(state, wire, () => sessions.clients.size);
  const http = createHttpHandler({
    guard,
    state,
    sessions,
    registry,
    schedulerId,
    eventIntervalMs: 1000,
  });

  const server = createServer(http.handler);
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
  });
  acceptUpgrades(server, wss, guard, (ws, req) => {
    void sessions.accept(ws, `${req.socket.remoteAddress}:${req.socket.remotePort}`);
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new SchedulerError(
          "listen-failed",
          error.code === "EADDRINUSE"
            ? `port ${options.port} on ${options.host} is already in use: stop the other process or pass --port 0 for any free port`
            : `cannot listen on ${options.host}:${options.port}: ${error.message}`,
          { cause: error },
        ),
      );
    };
    server.once("error", onError);
    server.listen(options.port, options.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host =
    options.host.includes(":") && !options.host.startsWith("[")
      ? `[${options.host}]`
      : options.host;
  const address = `ws://${host}:${port}`;
  log.info({ address, auth: token ? "token" : "none (loopback only)" }, "Scheduler listening");

  stopAfterFailure = () => {
    server.close();
    http.close();
    wss.close();
    server.closeAllConnections();
  };
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      log.info("Scheduler shutting down");
      server.close();
      http.close();
      await sessions.close();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.listening ? server.once("close", () => resolve()) : resolve(),
      );
    })();
    return closing;
  };
  return { address, httpUrl: `http://${host}:${port}`, schedulerId, port, state, close };
}

/** What a fatal log says about the event the state machine choked on (no user data). */
function describeEvent(event: SchedulerEvent): Record<string, unknown> {
  const { type } = event;
  if (event.type === "from-client")
    return { type, client: event.client, message: event.message.type };
  if (event.type === "from-worker")
    return { type, worker: event.worker, message: event.message.type };
  return { ...event };
}

/** Test-only: makes the state machine throw, after applying the event, on a chosen event. */
function injectFaults(state: SchedulerState, hooks: SchedulerTestHooks): void {
  const handle = state.handle.bind(state);
  state.handle = (event) => {
    const commands = handle(event);
    if (event.type === "client-joined" && event.name === hooks.failOnClientName) {
      throw new Error(
        `test hook: the state machine throws on client ${JSON.stringify(event.name)} (LAUNCHBAY_TEST_FAIL_ON_CLIENT)`,
      );
    }
    return commands;
  };
}
