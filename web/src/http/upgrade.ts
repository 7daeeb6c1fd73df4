import { peerTrust } from "./trusted-peer.js";
import type { FastifyInstance } from "fastify";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import type { ServiceName } from "../backend/backend.js";
import { SANDBOX_ID_PATTERN } from "../core/ids.js";
import { isLauncherError } from "../errors.js";
import { proxyUpgrade, refuseUpgrade } from "../proxy/upgrade-proxy.js";
import type { AppContext } from "./context.js";
import type { HostPolicy } from "./host-policy.js";
import { identityOfRaw } from "./identity.js";
import { originProblem } from "./origin-check.js";
import { hasSandboxCookie, resolveTarget } from "./proxy-routes.js";
import type { SandboxCredentials } from "./sandbox-credentials.js";
import { sandboxPath } from "./sandbox-policy.js";
import { sandboxResponse } from "./sandbox-response.js";

const EVENTS_PATH = /^\/api\/sandboxes\/([^/]+)\/events$/;
const PROXY_PATH = /^\/s\/([^/]+)\/(notebook|dashboard)(\/|$)/;
const SAVE_BRIDGE_PATH = /^\/s\/([^/]+)\/save-bridge$/;
const NOT_FOUND = {
  code: "not-found",
  message: "no such sandbox (it may have expired); go to / to launch one",
};

/**
 * Handles every HTTP upgrade on the launcher's server, after the same Host check as HTTP
 * requests (421 for a Host that is neither the launcher's nor a sandbox's). On the launcher
 * origin: only the progress stream (`/api/sandboxes/:id/events`), for the sandbox's owner
 * or the organiser. On a sandbox origin: only the notebook's WebSockets
 * (`/s/<id>/notebook/...`) and the save bridge of its JupyterLab tabs
 * (`/s/<id>/save-bridge`), with that origin's sandbox cookie and from that origin.
 */
export function attachUpgradeHandler(
  app: FastifyInstance,
  ctx: AppContext,
  hosts: HostPolicy,
  credentials: SandboxCredentials,
): () => void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  const trustsPeer = peerTrust(ctx.config.trustProxy);

  const sockets = new Set<Duplex>();

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    handleUpgrade(req, socket, head).catch((err: unknown) => {
      app.log.warn({ err }, "WebSocket upgrade failed");
      socket.destroy();
    });
  };

  const handleUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const url = new URL(req.url ?? "/", "http://launcher.invalid");
    const trusted = trustsPeer(req.socket.remoteAddress);
    const forwardedProto = trusted
      ? String(req.headers["x-forwarded-proto"] ?? "")
          .split(",")[0]
          ?.trim()
      : "";
    const protocol =
      forwardedProto || ("encrypted" in socket && socket.encrypted ? "https" : "http");
    const forwardedHost = trusted
      ? (req.headers["x-forwarded-host"] as string | undefined)
      : undefined;
    const host = forwardedHost ?? req.headers.host;
    const localPort = req.socket.localPort;
    const kind = hosts.classify(host, localPort);
    if (kind.kind === "unknown") {
      refuseUpgrade(socket, 421, { code: "host-not-allowed", message: kind.reason });
      return;
    }
    const own =
      kind.kind === "sandbox"
        ? [`${protocol}://${host}`.toLowerCase()]
        : hosts.launcherOrigins(protocol, localPort ?? ctx.config.port, ctx.config.allowedOrigins);
    const problem = originProblem("GET", req.headers, own, { upgrade: true });
    if (problem) {
      refuseUpgrade(socket, 403, { code: "csrf-rejected", message: problem });
      return;
    }
    if (kind.kind === "sandbox") {
      sandboxUpgrade(req, socket, head, kind.id, url.pathname, protocol, host);
      return;
    }
    const who = await identityOfRaw(app, req, ctx.config.organiserToken);
    const allowed = (id: string) => {
      if (!SANDBOX_ID_PATTERN.test(id)) return false;
      const owner = ctx.service.ownerOf(id);
      return (
        owner !== undefined &&
        (who.organiser || (who.attendee !== undefined && owner === who.attendee))
      );
    };

    const events = EVENTS_PATH.exec(url.pathname);
    if (events) {
      const id = events[1]!;
      if (!allowed(id)) return refuseUpgrade(socket, 404, NOT_FOUND);
      wss.handleUpgrade(req, socket, head, (ws) => {
        const send = () => {
          const view = ctx.service.view(id);
          if (ws.readyState !== ws.OPEN) return;
          if (!view) {
            ws.send(JSON.stringify({ type: "gone", message: "This sandbox no longer exists." }));
            ws.close(1000, "gone");
            return;
          }
          ws.send(JSON.stringify({ type: "sandbox", sandbox: sandboxResponse(view) }));
        };
        const unwatch = ctx.service.watch(id, send);
        // An open progress page holds the attendee's place in the waiting line.
        const leave = ctx.service.attend(id);
        let stopped = false;
        const stop = () => {
          if (stopped) return;
          stopped = true;
          unwatch();
          leave();
        };
        ws.on("close", stop);
        ws.on("error", stop);
        ws.on("message", () => ws.close(1008, "this stream is one-way"));
        send();
      });
      return;
    }

    refuseUpgrade(socket, 404, {
      code: "not-found",
      message: "no WebSocket endpoint at this path",
    });
  };

  const sandboxUpgrade = (
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    id: string,
    pathname: string,
    protocol: string,
    host: string | undefined,
  ) => {
    const cookies = req.headers.cookie ? app.parseCookie(req.headers.cookie) : {};
    const bridge = SAVE_BRIDGE_PATH.exec(pathname);
    if (bridge) {
      // The save bridge of this sandbox's JupyterLab tabs (save-bridge.ts): same origin
      // and sandbox cookie as the notebook itself.
      if (bridge[1] !== id || !hasSandboxCookie(ctx, credentials, cookies, id)) {
        return refuseUpgrade(socket, 404, NOT_FOUND);
      }
      if (!ctx.saveBridge.hasRoom(id)) {
        return refuseUpgrade(socket, 429, {
          code: "rate-limited",
          message: "too many JupyterLab tabs of this sandbox are open; close some",
        });
      }
      wss.handleUpgrade(req, socket, head, (ws) => ctx.saveBridge.attach(id, ws));
      return;
    }
    const proxied = PROXY_PATH.exec(pathname);
    if (!proxied || proxied[1] !== id || !hasSandboxCookie(ctx, credentials, cookies, id)) {
      return refuseUpgrade(socket, 404, NOT_FOUND);
    }
    const service = proxied[2] as ServiceName;
    const path = sandboxPath(id, service, "GET", req.url ?? "/", true);
    if (!path.ok) {
      return refuseUpgrade(socket, path.status, {
        code: path.status === 400 ? "path-not-allowed" : "not-found",
        message: path.reason,
      });
    }
    ctx.backend.recordActivity(id);
    let target: ReturnType<typeof resolveTarget>;
    try {
      target = resolveTarget(ctx, id, service, path.rest, {
        for: req.socket.remoteAddress,
        proto: protocol,
        host,
      });
    } catch (err) {
      const body = isLauncherError(err)
        ? err.toJSON()
        : { code: "upstream-unavailable", message: "not available" };
      return refuseUpgrade(socket, isLauncherError(err) ? err.status : 502, body);
    }
    proxyUpgrade(req, socket, head, target).then(
      () => ctx.metrics.proxyRequests.inc({ service, result: "upgrade" }),
      (err: unknown) => {
        ctx.metrics.proxyRequests.inc({ service, result: "unreachable" });
        app.log.warn({ err, sandbox: id, service }, "WebSocket upstream unreachable");
        refuseUpgrade(socket, 502, {
          code: "upstream-unavailable",
          message: `the sandbox's ${service} did not answer; reload in a few seconds`,
        });
      },
    );
  };

  app.server.on("upgrade", onUpgrade);
  return () => {
    app.server.off("upgrade", onUpgrade);
    for (const client of wss.clients) client.terminate();
    for (const socket of sockets) socket.destroy();
    wss.close();
  };
}
