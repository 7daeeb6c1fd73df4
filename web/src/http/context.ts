import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Backend } from "../backend/backend.js";
import type { LauncherConfig } from "../config.js";
import { LauncherError } from "../errors.js";
import type { LaunchService } from "../launch/launch-service.js";
import type { AbuseLimits } from "./abuse-limits.js";
import { type Identity, identityOf } from "./identity.js";
import type { LauncherMetrics } from "./metrics.js";

/** What every route module needs. */
export interface AppContext {
  config: LauncherConfig;
  backend: Backend;
  service: LaunchService;
  metrics: LauncherMetrics;
  limits: AbuseLimits;
  now: () => number;
  /** True once the backend has loaded its state; false again while shutting down. */
  ready: { value: boolean };
}

export function identity(
  app: FastifyInstance,
  ctx: AppContext,
  request: FastifyRequest,
): Promise<Identity> {
  return identityOf(app, request, ctx.config.organiserToken);
}

/** Refuses the request with 429 when the IP or attendee limit is reached. */
export async function enforceRateLimit(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  attendee?: string,
): Promise<void> {
  await ctx.limits.take("ip", request, reply);
  if (attendee) await ctx.limits.take("attendee", request, reply, attendee);
}

/** The organiser, or a 401/403. */
export async function requireOrganiser(
  app: FastifyInstance,
  ctx: AppContext,
  request: FastifyRequest,
): Promise<void> {
  const who = await identity(app, ctx, request);
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
export async function requireAccess(
  app: FastifyInstance,
  ctx: AppContext,
  request: FastifyRequest,
  id: string,
): Promise<Identity> {
  const who = await identity(app, ctx, request);
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
