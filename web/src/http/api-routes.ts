import type { FastifyInstance } from "fastify";
import { timingSafeEqual } from "node:crypto";
import { listNotebookFiles } from "../download/notebook-listing.js";
import { zipNotebookFiles } from "../download/notebook-zip.js";
import { LauncherError } from "../errors.js";
import { type AppContext, enforceRateLimit, identity, requireAccess } from "./context.js";
import { ensureAttendee } from "./identity.js";
import { sandboxResponse } from "./sandbox-response.js";
import { extendBodySchema, idParamsSchema, launchBodySchema } from "./schemas.js";
import { decode } from "./validation.js";

function accessCodeMatches(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The attendee API: workshop info, launch, status, extend, expire, download. */
export function registerApiRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { service, config } = ctx;

  app.get("/api/workshop", async (request, reply) => {
    const attendee = ensureAttendee(app, request, reply);
    const w = config.workshop;
    return {
      title: w.title,
      capacity: service.capacity(),
      accessCodeRequired: w.accessCode !== undefined,
      lifetimeMinutes: w.lifetimeMinutes,
      maxLifetimeMinutes: w.maxLifetimeMinutes,
      warningMinutes: w.warningMinutes,
      workers: w.workers,
      mySandbox: service.findByOwner(attendee) ?? null,
    };
  });

  app.post("/api/sandboxes", async (request, reply) => {
    const attendee = ensureAttendee(app, request, reply);
    await enforceRateLimit(ctx, request, reply, attendee);
    const body = decode(launchBodySchema, request.body, "launch request");
    const code = config.workshop.accessCode;
    if (service.findByOwner(attendee) === undefined) {
      if (code !== undefined) {
        if (body.accessCode === undefined) {
          throw new LauncherError(
            "access-code-required",
            "this workshop needs an access code: ask the organiser for it",
          );
        }
        // Every attempt counts (right or wrong), per address and for the whole workshop,
        // before the code is compared: a guess past the limit learns nothing.
        await ctx.limits.take("access-code-ip", request, reply);
        await ctx.limits.take("access-code-workshop", request, reply, "workshop");
        if (!accessCodeMatches(code, body.accessCode)) {
          ctx.metrics.launches.inc({ outcome: "rejected" });
          throw new LauncherError(
            "access-code-invalid",
            "that access code is not right; check it with the organiser",
          );
        }
      }
      // A new sandbox: capped per address, so fresh identities cannot fill the workshop.
      await ctx.limits.take("launch", request, reply);
    }
    const result = await service.launch(attendee);
    reply.code(result.outcome === "existing" ? 200 : 201);
    return { ...sandboxResponse(result.view), outcome: result.outcome };
  });

  app.get("/api/sandboxes/:id", async (request) => {
    const { id } = decode(idParamsSchema, request.params, "sandbox id");
    requireAccess(app, ctx, request, id);
    const view = service.view(id);
    if (!view)
      throw new LauncherError(
        "not-found",
        "no such sandbox (it may have expired); go to / to launch one",
      );
    return sandboxResponse(view);
  });

  app.get("/api/sandboxes/:id/events", async () => {
    throw new LauncherError(
      "invalid-request",
      "this endpoint streams sandbox updates over a WebSocket: connect with ws:// or wss://",
    );
  });

  app.post("/api/sandboxes/:id/extend", async (request, reply) => {
    const { id } = decode(idParamsSchema, request.params, "sandbox id");
    const who = requireAccess(app, ctx, request, id);
    await enforceRateLimit(ctx, request, reply, who.attendee);
    const body = decode(
      extendBodySchema(config.workshop.maxLifetimeMinutes),
      request.body,
      "extend request",
    );
    return sandboxResponse(await service.extend(id, body.minutes));
  });

  app.delete("/api/sandboxes/:id", async (request, reply) => {
    const { id } = decode(idParamsSchema, request.params, "sandbox id");
    const who = requireAccess(app, ctx, request, id);
    await enforceRateLimit(ctx, request, reply, who.attendee);
    await service.expire(id);
    reply.code(204);
    return null;
  });

  app.get("/api/sandboxes/:id/download", async (request, reply) => {
    const { id } = decode(idParamsSchema, request.params, "sandbox id");
    const who = requireAccess(app, ctx, request, id);
    await enforceRateLimit(ctx, request, reply, who.attendee);
    const upstream = ctx.backend.upstream(id, "notebook");
    if (!upstream) {
      throw new LauncherError(
        "sandbox-not-ready",
        "the notebook is not running yet; download once it is Ready",
      );
    }
    const limits = {
      maxFiles: config.downloadMaxFiles,
      maxBytes: config.downloadMaxMib * 1024 * 1024,
    };
    // Listed (and refused when too large) before any header goes out; then streamed.
    const files = await listNotebookFiles(upstream, limits);
    const zip = zipNotebookFiles(upstream, files, limits);
    zip.on("error", (err) =>
      request.log.warn({ err, sandbox: id }, "Download cut off: %s", err.message),
    );
    return reply
      .header("content-type", "application/zip")
      .header("content-disposition", `attachment; filename="launchbay-${id}.zip"`)
      .header("cache-control", "no-store")
      .send(zip);
  });

  app.get("/api/me", async (request, reply) => {
    const attendee = ensureAttendee(app, request, reply);
    const who = identity(app, ctx, request);
    return { attendee, organiser: who.organiser, sandbox: service.findByOwner(attendee) ?? null };
  });
}
