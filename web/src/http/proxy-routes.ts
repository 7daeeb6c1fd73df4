import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ServiceName } from "../backend/backend.js";
import { LauncherError } from "../errors.js";
import { type ProxyTarget, proxyHttp, registerHttpProxy } from "../proxy/http-proxy.js";
import type { AppContext } from "./context.js";
import { isSecure } from "./identity.js";
import {
  HANDOVER_PATH,
  SANDBOX_COOKIE,
  SANDBOX_COOKIE_TTL_MS,
  type SandboxCredentials,
} from "./sandbox-credentials.js";
import { publicPrefix, sandboxPath, sandboxResponseHeaders } from "./sandbox-policy.js";

/** Routes flagged with this config answer only on sandbox origins (and only there). */
export const SANDBOX_ROUTE = { origin: "sandbox" } as const;

const GONE =
  "nothing here: open your sandbox from the launcher's page (the link there signs this browser in to it)";

/** The sandbox a request's Host names (set by the host check in app.ts). */
export function sandboxOfRequest(request: FastifyRequest): string {
  const kind = request.hostKind;
  if (kind?.kind !== "sandbox") throw new LauncherError("not-found", GONE);
  return kind.id;
}

/** The target of a proxied request, or a LauncherError that says why not. */
export function resolveTarget(
  ctx: AppContext,
  id: string,
  service: ServiceName,
  rest: string,
  forwarded: ProxyTarget["forwarded"],
): ProxyTarget {
  const upstream = ctx.backend.upstream(id, service);
  if (!upstream) {
    throw new LauncherError(
      "sandbox-not-ready",
      `the ${service} of this sandbox is not running yet; wait until it is Ready`,
    );
  }
  const base = upstream.baseUrl.pathname.endsWith("/")
    ? upstream.baseUrl.pathname
    : `${upstream.baseUrl.pathname}/`;
  return {
    upstream,
    publicPrefix: publicPrefix(id, service),
    path: base + rest,
    forwarded,
    responseHeaders: sandboxResponseHeaders(service),
  };
}

/** Whether this request carries the sandbox cookie for sandbox `id` (and its current owner). */
export function hasSandboxCookie(
  ctx: AppContext,
  credentials: SandboxCredentials,
  cookies: Record<string, string | undefined>,
  id: string,
): boolean {
  return credentials.cookieOpens(cookies[SANDBOX_COOKIE], id, ctx.service.ownerOf(id));
}

function forward(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  target: ProxyTarget,
  id: string,
  service: ServiceName,
): FastifyReply {
  return proxyHttp(
    reply,
    target,
    (result) => {
      if ("status" in result) {
        ctx.metrics.proxyRequests.inc({ service, result: String(result.status) });
        return;
      }
      ctx.metrics.proxyRequests.inc({ service, result: "unreachable" });
      request.log.warn({ err: result.error, sandbox: id, service }, "Proxy upstream unreachable");
    },
    (res) =>
      res.code(502).send({
        code: "upstream-unavailable",
        message: `the sandbox's ${service} did not answer; if it just started, reload in a few seconds`,
      }),
  );
}

/**
 * The routes of a sandbox origin (`<id>.<sandboxDomain>`): the handover that turns a
 * one-time token into this origin's sandbox cookie, and the authenticated reverse proxy to
 * the notebook (`/s/<id>/notebook/…`) and the dashboard (`/s/<id>/dashboard/`, three GET
 * endpoints). WebSocket upgrades go through upgrade.ts. Bodies are streamed, never parsed.
 */
export async function registerProxyRoutes(
  app: FastifyInstance,
  ctx: AppContext,
  credentials: SandboxCredentials,
): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // Bodies go on as the request stream, never parsed (reply-from streams them).
    scope.addContentTypeParser("*", (_request, payload, done) => done(null, payload));
    await registerHttpProxy(scope);

    scope.get(HANDOVER_PATH, { config: SANDBOX_ROUTE }, async (request, reply) => {
      const id = sandboxOfRequest(request);
      const { token } = request.query as { token?: unknown };
      const result = await credentials.redeemHandover(
        typeof token === "string" ? token : undefined,
        id,
        ctx.service.ownerOf(id),
      );
      reply.header("cache-control", "no-store").header("referrer-policy", "no-referrer");
      if (!result.ok) {
        throw new LauncherError(
          "handover-refused",
          `${result.reason}: open your sandbox again from the launcher's page`,
        );
      }
      reply.setCookie(SANDBOX_COOKIE, credentials.sandboxCookie(id, result.owner), {
        path: "/",
        httpOnly: true,
        sameSite: "lax",
        secure: isSecure(request),
        maxAge: SANDBOX_COOKIE_TTL_MS / 1000,
      });
      // The notebook server's root: it redirects to its default_url, the tutorial's first
      // notebook (web/jupyter/jupyter_server_config.py), so a sandbox opens on 01, not the Launcher.
      const next = publicPrefix(id, result.target);
      return reply.redirect(next, 303);
    });

    for (const service of ["notebook", "dashboard"] as const) {
      const handler = async (request: FastifyRequest, reply: FastifyReply) => {
        const id = sandboxOfRequest(request);
        const { id: pathId } = request.params as { id: string };
        if (pathId !== id || !hasSandboxCookie(ctx, credentials, request.cookies, id)) {
          throw new LauncherError("not-found", GONE);
        }
        if (request.url === publicPrefix(id, service).slice(0, -1)) {
          return reply.redirect(publicPrefix(id, service), 302);
        }
        const path = sandboxPath(id, service, request.method, request.url, false);
        if (!path.ok) {
          throw new LauncherError(
            path.status === 400 ? "path-not-allowed" : "not-found",
            path.reason,
          );
        }
        ctx.backend.recordActivity(id);
        const target = resolveTarget(ctx, id, service, path.rest, {
          for: request.ip,
          proto: request.protocol,
          host: request.host,
        });
        return forward(ctx, request, reply, target, id, service);
      };
      scope.all(`/s/:id/${service}`, { config: SANDBOX_ROUTE }, handler);
      scope.all(`/s/:id/${service}/*`, { config: SANDBOX_ROUTE }, handler);
    }
  });
}
