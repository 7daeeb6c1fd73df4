/**
 * The scheduler's HTTP endpoints (same port as the WebSocket):
 *   GET /healthz              200 "ok" (no token needed)
 *   GET /api/status           JSON summary
 *   GET /metrics              Prometheus text
 *   GET /dashboard/           live dashboard page (?token= sets an HttpOnly cookie)
 *   GET /dashboard/data.json  the dashboard's data, once
 *   GET /dashboard/events     the same as server-sent events, every second
 * Every endpoint but /healthz requires the token (Bearer header, ?token= or cookie).
 * Without a token (loopback only) every request must name a loopback `Host` (403
 * otherwise), so a DNS-rebound page cannot read them.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import { type BrowserGuard, presentedToken, refuseHost, tokenMatches } from "@launchbay/protocol";
import type { SchedulerState } from "../state/index.js";
import { DASHBOARD_HTML } from "./dashboard-page.js";
import type { Sessions } from "./sessions.js";

export interface HttpContext {
  guard: BrowserGuard;
  state: SchedulerState;
  sessions: Sessions;
  registry: Registry;
  schedulerId: string;
  eventIntervalMs: number;
}

export function statusBody(ctx: HttpContext) {
  return {
    schedulerId: ctx.schedulerId,
    workers: ctx.state.workerInfo(),
    tasks: ctx.state.taskCounts(),
    clients: ctx.sessions.clients.size,
  };
}

const PROGRESS_CACHE_MS = 1000;

export function createHttpHandler(ctx: HttpContext) {
  const streams = new Set<ServerResponse>();
  let progress: { at: number; value: ReturnType<SchedulerState["progressByName"]> } | undefined;

  const dashboardData = () => {
    const t = Date.now();
    if (!progress || t - progress.at > PROGRESS_CACHE_MS)
      progress = { at: t, value: ctx.state.progressByName() };
    return {
      ...statusBody(ctx),
      now: t,
      workers: ctx.state.workerInfo().map((w) => ({ ...w, ...ctx.sessions.workerLiveness(w.id) })),
      progress: progress.value,
      stream: ctx.state.taskStream().slice(-300),
      completed: ctx.state.completedTotal,
      erred: ctx.state.erredTotal,
    };
  };

  const timer = setInterval(() => {
    if (streams.size === 0) return;
    const chunk = `data: ${JSON.stringify(dashboardData())}\n\n`;
    for (const res of streams) res.write(chunk);
  }, ctx.eventIntervalMs);
  timer.unref();

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? "/", "http://scheduler");
    const path = url.pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, "text/plain", `${req.method} is not supported: every endpoint is GET\n`, {
        allow: "GET, HEAD",
      });
      return;
    }
    const refusal = refuseHost(req, ctx.guard);
    if (refusal) {
      send(res, refusal.status, "text/plain; charset=utf-8", refusal.body);
      return;
    }
    if (path === "/healthz") {
      send(res, 200, "text/plain", "ok\n");
      return;
    }
    if (!tokenMatches(ctx.guard.token, presentedToken(req))) {
      send(
        res,
        401,
        "application/json",
        JSON.stringify({
          error: "unauthorized",
          message:
            "missing or wrong token: send Authorization: Bearer <token> (or open /dashboard/?token=<token>)",
        }),
        { "www-authenticate": 'Bearer realm="launchbay"' },
      );
      return;
    }
    switch (path) {
      case "/api/status":
        send(res, 200, "application/json", JSON.stringify(statusBody(ctx)));
        return;
      case "/metrics":
        ctx.registry.metrics().then(
          (text) => send(res, 200, ctx.registry.contentType, text),
          (error: Error) => send(res, 500, "text/plain", `metrics failed: ${error.message}\n`),
        );
        return;
      case "/dashboard":
        send(res, 301, "text/plain", "see dashboard/\n", { location: "dashboard/" });
        return;
      case "/dashboard/": {
        const query = url.searchParams.get("token");
        if (query !== null) {
          // The token was valid (checked above): keep it in a cookie and drop it from the URL.
          send(res, 303, "text/plain", "authenticated\n", {
            "set-cookie": `launchbay-token=${encodeURIComponent(query)}; HttpOnly; SameSite=Strict`,
            location: "./",
          });
          return;
        }
        send(res, 200, "text/html; charset=utf-8", DASHBOARD_HTML, {
          "content-security-policy":
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
        });
        return;
      }
      case "/dashboard/data.json":
        send(res, 200, "application/json", JSON.stringify(dashboardData()));
        return;
      case "/dashboard/events": {
        res.writeHead(200, {
          "content-type": "text/event-stream",
          "cache-control": "no-store",
          connection: "keep-alive",
        });
        res.write(`retry: 2000\ndata: ${JSON.stringify(dashboardData())}\n\n`);
        streams.add(res);
        req.on("close", () => streams.delete(res));
        return;
      }
      default:
        send(
          res,
          404,
          "text/plain",
          `no such endpoint: ${path} (try /api/status, /metrics or /dashboard/)\n`,
        );
        return;
    }
  };

  const close = () => {
    clearInterval(timer);
    for (const res of streams) res.end();
    streams.clear();
  };
  return { handler, close };
}

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": contentType, "cache-control": "no-store", ...headers });
  res.end(body);
}
