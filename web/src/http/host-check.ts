import type { FastifyInstance, FastifyRequest } from "fastify";
import type { LauncherConfig } from "../config.js";
import { LauncherError } from "../errors.js";
import type { HostPolicy } from "./host-policy.js";
import { originProblem } from "./origin-check.js";

/** Routes that answer on any Host (probes and scrapes address pods by IP). */
export const ANY_HOST_ROUTE = { anyHost: true } as const;

/** The port the request arrived on (undefined for injected requests, which have no socket). */
export function localPortOf(request: FastifyRequest): number | undefined {
  return request.raw.socket?.localPort;
}

/**
 * Before routing: refuses a Host that is neither the launcher's nor a sandbox origin (421:
 * DNS rebinding), keeps launcher routes off sandbox origins and sandbox routes off the
 * launcher (404), and checks a state-changing request's Origin against the origins the
 * configuration allows: the launcher's public hosts on the launcher, the sandbox's own
 * origin on a sandbox origin. The request's Host never decides the launcher's origin.
 */
export function registerHostCheck(
  app: FastifyInstance,
  config: LauncherConfig,
  hosts: HostPolicy,
): void {
  app.addHook("onRequest", async (request) => {
    const routeConfig = (request.routeOptions.config ?? {}) as {
      anyHost?: boolean;
      origin?: string;
    };
    if (routeConfig.anyHost) return;
    const localPort = localPortOf(request);
    const kind = hosts.classify(request.host, localPort);
    if (kind.kind === "unknown") throw new LauncherError("host-not-allowed", kind.reason);
    request.hostKind = kind;
    const sandboxRoute = routeConfig.origin === "sandbox";
    if ((kind.kind === "sandbox") !== sandboxRoute) {
      throw new LauncherError(
        "not-found",
        kind.kind === "sandbox"
          ? "a sandbox origin serves only that sandbox's notebook and dashboard"
          : `nothing at ${request.method} ${request.url.split("?")[0]}`,
      );
    }
    const own =
      kind.kind === "sandbox"
        ? [`${request.protocol}://${request.host}`.toLowerCase()]
        : hosts.launcherOrigins(request.protocol, localPort ?? config.port, config.allowedOrigins);
    const problem = originProblem(request.method, request.headers, own);
    if (problem)
      throw new LauncherError("csrf-rejected", `${problem}; use the launcher's own pages`);
  });
}
