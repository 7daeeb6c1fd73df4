import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Backend } from "../backend/backend.js";
import type { LauncherConfig } from "../config.js";
import { LauncherError } from "../errors.js";
import type { LaunchService } from "../launch/launch-service.js";
import type { AbuseLimits } from "./abuse-limits.js";
import { type Identity, identityOf } from "./identity.js";
import type { LauncherMetrics } from "./metrics.js";
import type { SaveBridge } from "./save-bridge.js";

/** What every route module needs. */
export interface AppContext {
  config: LauncherConfig;
  backend: Backend;
  service: LaunchService;
  metrics: LauncherMetrics;
  limits: AbuseLimits;
  /** The open JupyterLab tabs of each sandbox, asked to save before Download and stops. */
  saveBridge: SaveBridge;
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

/**
 * Asks sandbox `id`'s open JupyterLab tabs to save every document (the save bridge),
 * waiting at most `saveOpenDocumentsSeconds`; never throws.
 */
export async function saveOpenDocuments(
  ctx: AppContext,
  id: string,
  log: FastifyBaseLogger,
): Promise<void> {
  const seconds = ctx.config.saveOpenDocumentsSeconds;
  if (seconds <= 0) return;
  const outcome = await ctx.saveBridge.saveAll(id, seconds * 1000);
  if (outcome.tabs > 0)
    log.info({ sandbox: id, ...outcome }, "Asked the sandbox's JupyterLab tabs to save");
  if (outcome.answered < outcome.tabs || outcome.failed > 0)
    log.warn(
      { sandbox: id, ...outcome },
      "Not every JupyterLab tab saved in time: the last unsaved edits may be missing",
    );
}
