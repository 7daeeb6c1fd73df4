import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Backend } from "../backend/backend.js";
import type { LauncherConfig } from "../config.js";
import { RateLimiter } from "../core/rate-limit.js";
import { LauncherError } from "../errors.js";
import type { LaunchService } from "../launch/launch-service.js";
import { type Identity, identityOf } from "./identity.js";
import type { LauncherMetrics } from "./metrics.js";

/** What every route module needs. */
export interface AppContext {
  config: LauncherConfig;
  backend: Backend;
  service: LaunchService;
  metrics: LauncherMetrics;
  limits: { ip: RateLimiter; attendee: RateLimiter };
  now: () => number;
  /** True once the backend has loaded its state; false again while shutting down. */
  ready: { value: boolean };
}

export function createLimits(config: LauncherConfig): AppContext["limits"] {
  return {
    ip: new RateLimiter(config.rateLimitIp),
    attendee: new RateLimiter(config.rateLimitAttendee),
  };
}

export function identity(app: FastifyInstance, ctx: AppContext, request: FastifyRequest): Identity {
  return identityOf(app, request, ctx.config.organiserToken);
}

/** Refuses the request with 429 when the IP or attendee bucket is empty. */
export function enforceRateLimit(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  attendee?: string,
): void {
  const now = ctx.now();
  const checks: Array<["ip" | "attendee", string]> = [["ip", request.ip]];
  if (attendee) checks.push(["attendee", attendee]);
  for (const [kind, key] of checks) {
    const decision = ctx.limits[kind].take(key, now);
    if (!decision.allowed) {
      ctx.metrics.rateLimited.inc({ kind });
      const seconds = Math.ceil(decision.retryAfterMs / 1000);
      reply.header("retry-after", String(seconds));
      throw new LauncherError(
        "rate-limited",
        `too many requests from this ${kind === "ip" ? "network address" : "browser"}; try again in ${seconds} s`,
        { details: { retryAfterSeconds: seconds } },
      );
    }
  }
}

/** The organiser, or a 401/403. */
export function requireOrganiser(
  app: FastifyInstance,
  ctx: AppContext,
  request: FastifyRequest,
): void {
  const who = identity(app, ctx, request);
  if (who.organiser) return;
  if (request.headers.authorization) {
    throw new LauncherError(
      "forbidden",
      "that organiser token is wrong; use the token from the launcher's configuration",
    );
  }
  throw new LauncherError(
    "unauthorized",
    "organiser sign-in required: sign in at /admin or send Authorization: Bearer <organiser token>",
  );
}

/**
 * Finds a sandbox the caller may see: their own, or any for the organiser. Anyone else
 * gets the same 404 as for an id that does not exist, so ids cannot be probed.
 */
export function requireAccess(
  app: FastifyInstance,
  ctx: AppContext,
  request: FastifyRequest,
  id: string,
): Identity {
  const who = identity(app, ctx, request);
  const owner = ctx.service.ownerOf(id);
  if (
    owner !== undefined &&
    (who.organiser || (who.attendee !== undefined && owner === who.attendee))
  ) {
    return who;
  }
  throw new LauncherError(
    "not-found",
    "no such sandbox (it may have expired); go to / to launch one",
  );
}
