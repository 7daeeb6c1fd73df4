import type { FastifyInstance } from "fastify";
import { NEVER } from "../backend/backend.js";
import { newSandboxId } from "../core/ids.js";
import { LauncherError } from "../errors.js";
import { type AppContext, requireOrganiser } from "./context.js";
import { endOrganiserSession, startOrganiserSession } from "./identity.js";
import { verifyOrganiserToken } from "./organiser-auth.js";
import { sandboxResponse } from "./sandbox-response.js";
import {
  adminExpireAllSchema,
  adminStartBodySchema,
  extendBodySchema,
  idParamsSchema,
  loginBodySchema,
} from "./schemas.js";
import { decode } from "./validation.js";

/** The organiser's API: overview, every sandbox, start / extend / expire one or all. */
export function registerAdminRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { service, config } = ctx;

  app.post("/admin/login", async (request, reply) => {
    const body = decode(loginBodySchema, request.body, "sign-in form");
    if (
      !(await verifyOrganiserToken(ctx.limits, request, reply, body.token, config.organiserToken))
    ) {
      request.log.warn("Organiser sign-in with a wrong token");
      return reply.redirect("/admin?error=wrong-token", 303);
    }
    startOrganiserSession(app, request, reply, config.organiserSessionHours * 3600);
    return reply.redirect("/admin", 303);
  });

  app.post("/admin/logout", async (request, reply) => {
    endOrganiserSession(app, request, reply);
    return reply.redirect("/admin", 303);
  });

  app.get("/api/admin/overview", async (request) => {
    requireOrganiser(app, ctx, request);
    const stats = service.stats;
    const { accessCode, ...settings } = config.workshop;
    return {
      backend: ctx.backend.kind,
      settings: { ...settings, accessCode: accessCode === undefined ? "none" : "set" },
      capacity: service.capacity(),
      launches: {
        count: stats.count,
        p50Ms: stats.quantileMs(0.5) ?? null,
        p95Ms: stats.quantileMs(0.95) ?? null,
        typicalMs: stats.typicalMs(),
        histogram: stats.histogram(),
      },
    };
  });

  app.get("/api/admin/sandboxes", async (request) => {
    requireOrganiser(app, ctx, request);
    const now = ctx.now();
    return {
      sandboxes: service.listAll().map(({ view, owner, warm, createdAt }) => ({
        ...sandboxResponse(view),
        owner,
        warm,
        ageSeconds: Math.max(0, Math.round((now - createdAt) / 1000)),
        secondsLeft:
          view.expiresAt === undefined || view.expiresAt >= NEVER
            ? null
            : Math.max(0, Math.round((view.expiresAt - now) / 1000)),
        readySeconds:
          view.readyAt === undefined
            ? null
            : Math.max(0, Math.round((view.readyAt - createdAt) / 1000)),
      })),
    };
  });

  app.post("/api/admin/sandboxes", async (request, reply) => {
    requireOrganiser(app, ctx, request);
    const { count } = decode(adminStartBodySchema, request.body, "start request");
    const created: string[] = [];
    for (let i = 0; i < count; i += 1) {
      // Unclaimed warm sandboxes never expire; a claim gives them the attendee's lifetime.
      const state = await ctx.backend.create({ id: newSandboxId(), owner: "", expiresAt: NEVER });
      created.push(state.id);
    }
    request.log.info({ count }, "Started warm sandboxes");
    reply.code(201);
    return { created };
  });

  app.post("/api/admin/sandboxes/:id/extend", async (request) => {
    requireOrganiser(app, ctx, request);
    const { id } = decode(idParamsSchema, request.params, "sandbox id");
    const body = decode(
      extendBodySchema(config.workshop.maxLifetimeMinutes),
      request.body,
      "extend request",
    );
    return sandboxResponse(await service.extend(id, body.minutes));
  });

  app.delete("/api/admin/sandboxes/:id", async (request, reply) => {
    requireOrganiser(app, ctx, request);
    const { id } = decode(idParamsSchema, request.params, "sandbox id");
    await service.expire(id);
    reply.code(204);
    return null;
  });

  app.post("/api/admin/extend-all", async (request) => {
    requireOrganiser(app, ctx, request);
    const body = decode(
      extendBodySchema(config.workshop.maxLifetimeMinutes),
      request.body,
      "extend request",
    );
    const results = await Promise.allSettled(
      ctx.backend
        .list()
        .filter((s) => s.phase !== "Expiring" && s.phase !== "Failed")
        .map((s) => service.extend(s.id, body.minutes)),
    );
    return {
      extended: results.filter((r) => r.status === "fulfilled").length,
      atLimit: results.filter(
        (r) =>
          r.status === "rejected" &&
          r.reason instanceof LauncherError &&
          r.reason.code === "extend-limit",
      ).length,
      failed: results.filter(
        (r) =>
          r.status === "rejected" &&
          !(r.reason instanceof LauncherError && r.reason.code === "extend-limit"),
      ).length,
    };
  });

  app.post("/api/admin/expire-all", async (request) => {
    requireOrganiser(app, ctx, request);
    decode(adminExpireAllSchema, request.body, "expire-all request");
    const ids = service.listAll().map((e) => e.view.id);
    const results = await Promise.allSettled(ids.map((id) => service.expire(id)));
    return {
      expired: results.filter((r) => r.status === "fulfilled").length,
      failed: results.filter((r) => r.status === "rejected").length,
    };
  });
}
