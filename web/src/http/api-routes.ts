import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { timingSafeEqual } from "node:crypto";
import { zipArchivedFiles } from "../download/archive-zip.js";
import { listNotebookFiles } from "../download/notebook-listing.js";
import { zipNotebookFiles } from "../download/notebook-zip.js";
import { z } from "zod";
import { LauncherError } from "../errors.js";
import {
  type AppContext,
  enforceRateLimit,
  identity,
  requireAccess,
  saveOpenDocuments,
} from "./context.js";
import { ensureAttendee } from "./identity.js";
import { sandboxResponse } from "./sandbox-response.js";
import {
  errorResponses,
  extendBodySchema,
  idParamsSchema,
  launchBodySchema,
  launchResponseSchema,
  meResponseSchema,
  sandboxResponseSchema,
  workshopResponseSchema,
  zipResponseSchema,
} from "./schemas.js";

function accessCodeMatches(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The attendee API: workshop info, launch, status, extend, expire, download. */
export function registerApiRoutes(root: FastifyInstance, ctx: AppContext): void {
  const { service, config } = ctx;
  const app = root.withTypeProvider<ZodTypeProvider>();
  const sandboxParams = { params: idParamsSchema, tags: ["attendee"] };

  app.get(
    "/api/workshop",
    {
      schema: {
        tags: ["attendee"],
        summary: "Workshop title, capacity and the caller's sandbox",
        response: { 200: workshopResponseSchema, ...errorResponses(429) },
      },
    },
    async (request, reply) => {
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
    },
  );

  app.post(
    "/api/sandboxes",
    {
      schema: {
        tags: ["attendee"],
        summary: "Launch a sandbox (201), or get the caller's existing one (200)",
        body: launchBodySchema,
        response: {
          200: launchResponseSchema,
          201: launchResponseSchema,
          ...errorResponses(400, 403, 409, 429, 502, 503),
        },
      },
    },
    async (request, reply) => {
      const attendee = ensureAttendee(app, request, reply);
      await enforceRateLimit(ctx, request, reply, attendee);
      const body = request.body;
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
    },
  );

  app.get(
    "/api/sandboxes/:id",
    {
      schema: {
        ...sandboxParams,
        summary: "A sandbox's phase, message, expiry and URLs",
        response: { 200: sandboxResponseSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { id } = request.params;
      await requireAccess(app, ctx, request, id);
      service.seen(id);
      const view = service.view(id);
      if (!view)
        throw new LauncherError(
          "not-found",
          "no such sandbox (it may have expired); go to / to launch one",
        );
      return sandboxResponse(view);
    },
  );

  app.get(
    "/api/sandboxes/:id/events",
    {
      schema: {
        ...sandboxParams,
        summary:
          "WebSocket (upgrade): {type:'sandbox', sandbox} now and on every change; {type:'gone'} when deleted. A plain GET gets 400",
        response: errorResponses(400, 403, 404),
      },
    },
    async () => {
      throw new LauncherError(
        "invalid-request",
        "this endpoint streams sandbox updates over a WebSocket: connect with ws:// or wss://",
      );
    },
  );

  app.post(
    "/api/sandboxes/:id/extend",
    {
      schema: {
        ...sandboxParams,
        summary: "Extend a sandbox up to the workshop's max lifetime",
        body: extendBodySchema(config.workshop.maxLifetimeMinutes),
        response: { 200: sandboxResponseSchema, ...errorResponses(400, 404, 409, 429, 502) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const who = await requireAccess(app, ctx, request, id);
      await enforceRateLimit(ctx, request, reply, who.attendee);
      return sandboxResponse(await service.extend(id, request.body.minutes));
    },
  );

  app.delete(
    "/api/sandboxes/:id",
    {
      schema: {
        ...sandboxParams,
        summary: "Expire a sandbox now (or leave the queue)",
        response: { 204: z.null().describe("Expired"), ...errorResponses(400, 404, 429, 502) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const who = await requireAccess(app, ctx, request, id);
      await enforceRateLimit(ctx, request, reply, who.attendee);
      await service.expire(id);
      reply.code(204);
      return null;
    },
  );

  app.get(
    "/api/sandboxes/:id/download",
    {
      schema: {
        ...sandboxParams,
        summary: "A zip of the sandbox's notebook directory (application/zip, streamed)",
        response: { 200: zipResponseSchema, ...errorResponses(400, 404, 409, 413, 429, 502) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const who = await requireAccess(app, ctx, request, id);
      await enforceRateLimit(ctx, request, reply, who.attendee);
      const upstream = ctx.backend.upstream(id, "notebook");
      const state = ctx.backend.get(id);
      if (!upstream && state?.phase === "Failed" && state.owner) {
        // A failed sandbox's processes are gone; its work was archived when it failed.
        const saved = await ctx.backend.archivedWork?.(state.owner);
        if (saved && saved.sandbox === id) {
          const zip = zipArchivedFiles(saved.files, {
            maxFiles: config.downloadMaxFiles,
            maxBytes: config.downloadMaxMib * 1024 * 1024,
          });
          return reply
            .header("content-type", "application/zip")
            .header("content-disposition", `attachment; filename="launchbay-${id}.zip"`)
            .header("cache-control", "no-store")
            .send(zip);
        }
      }
      if (!upstream) {
        throw new LauncherError(
          "sandbox-not-ready",
          "the notebook is not running yet; download once it is Ready",
        );
      }
      // Every open JupyterLab tab of the sandbox saves first (the save bridge), so the zip
      // holds what was typed a moment ago, not only what autosave wrote.
      await saveOpenDocuments(ctx, id, request.log);
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
    },
  );

  app.get(
    "/api/me",
    {
      schema: {
        tags: ["attendee"],
        summary: "The caller's identity and sandbox",
        response: { 200: meResponseSchema, ...errorResponses(429) },
      },
    },
    async (request, reply) => {
      const attendee = ensureAttendee(app, request, reply);
      const who = await identity(app, ctx, request);
      return { attendee, organiser: who.organiser, sandbox: service.findByOwner(attendee) ?? null };
    },
  );
}
