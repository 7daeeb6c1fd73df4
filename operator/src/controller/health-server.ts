import { timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface HealthServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Bearer token for /metrics; when unset, /metrics is served only on loopback. */
  metricsToken?: string;
  live: () => boolean;
  ready: () => boolean;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/** /healthz and /readyz (unauthenticated, for kubelet probes) and /metrics (token). */
export function startHealthServer(
  options: HealthServerOptions,
): Promise<{ server: Server; port: number }> {
  const metricsOpen = !options.metricsToken && LOOPBACK.has(options.host);
  const server = createServer(async (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const reply = (status: number, body: string, type = "text/plain; charset=utf-8") => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    if (req.method !== "GET") return reply(405, "only GET\n");
    if (path === "/healthz") return options.live() ? reply(200, "ok\n") : reply(500, "not live\n");
    if (path === "/readyz")
      return options.ready() ? reply(200, "ok\n") : reply(503, "caches not synced\n");
    if (path === "/metrics") {
      if (!metricsOpen && !authorized(req.headers.authorization, options.metricsToken)) {
        return reply(
          401,
          options.metricsToken
            ? "send Authorization: Bearer <metrics token>\n"
            : "set --metrics-token to serve /metrics on a non-loopback address\n",
        );
      }
      return reply(200, await options.registry.metrics(), options.registry.contentType);
    }
    return reply(404, "not found: try /healthz, /readyz or /metrics\n");
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      resolve({ server, port: (server.address() as AddressInfo).port });
    });
  });
}

function authorized(header: string | undefined, token: string | undefined): boolean {
  if (!token || !header?.startsWith("Bearer ")) return false;
  const given = Buffer.from(header.slice(7));
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
