import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ServiceName } from "../backend/backend.js";
import { SANDBOX_ID_PATTERN } from "../core/ids.js";
import { LauncherError } from "../errors.js";
import { proxyHttp, type ProxyTarget } from "../proxy/http-proxy.js";
import { type AppContext, requireAccess } from "./context.js";

const SERVICES: readonly ServiceName[] = ["notebook", "dashboard"];

/** The target of a proxied request, or a LauncherError that says why not. */
export function resolveTarget(
  ctx: AppContext,
  id: string,
  service: ServiceName,
  forwarded: ProxyTarget["forwarded"],
): ProxyTarget {
  const upstream = ctx.backend.upstream(id, service);
  if (!upstream) {
    throw new LauncherError(
      "sandbox-not-ready",
      `the ${service} of this sandbox is not running yet; wait until it is Ready`,
    );
  }
  return { upstream, publicPrefix: `/s/${id}/${service}/`, forwarded };
}

function forwardedOf(request: FastifyRequest): ProxyTarget["forwarded"] {
  return { for: request.ip, proto: request.protocol, host: request.host };
}

/**
 * `/s/:id/notebook/*` and `/s/:id/dashboard/*`: the authenticated reverse proxy (HTTP;
 * WebSocket upgrades go through upgrade.ts). Bodies are streamed, never parsed.
 */
export async function registerProxyRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_request, _payload, done) => done(null));
    for (const service of SERVICES) {
      scope.get(`/s/:id/${service}`, async (request, reply) => {
        const { id } = request.params as { id: string };
        if (!SANDBOX_ID_PATTERN.test(id)) throw new LauncherError("not-found", "no such sandbox");
        requireAccess(app, ctx, request, id);
        return reply.redirect(`/s/${id}/${service}/`, 302);
      });
      scope.all(`/s/:id/${service}/*`, async (request, reply) => {
        const { id } = request.params as { id: string };
        if (!SANDBOX_ID_PATTERN.test(id)) throw new LauncherError("not-found", "no such sandbox");
        requireAccess(app, ctx, request, id);
        ctx.backend.recordActivity(id);
        const target = resolveTarget(ctx, id, service, forwardedOf(request));
        reply.hijack();
        try {
          const status = await proxyHttp(request.raw, reply.raw, target);
          ctx.metrics.proxyRequests.inc({ service, result: String(status) });
        } catch (err) {
          ctx.metrics.proxyRequests.inc({ service, result: "unreachable" });
          request.log.warn({ err, sandbox: id, service }, "Proxy upstream unreachable");
          if (!reply.raw.headersSent) {
            const body = JSON.stringify({
              code: "upstream-unavailable",
              message: `the sandbox's ${service} did not answer; if it just started, reload in a few seconds`,
            });
            reply.raw.writeHead(502, {
              "content-type": "application/json",
              "content-length": Buffer.byteLength(body),
            });
            reply.raw.end(body);
          }
        }
      });
    }
  });
}
