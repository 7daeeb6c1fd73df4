import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
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
  errorResponses,
  extendBodySchema,
  idParamsSchema,
  loginBodySchema,
  sandboxResponseSchema,
} from "./schemas.js";

/** The organiser's API: overview, every sandbox, start / extend / expire one or all. */
export function registerAdminRoutes(root: FastifyInstance, ctx: AppContext): void {
  const { service, config } = ctx;
  const app = root.withTypeProvider<ZodTypeProvider>();
  const security: Array<Record<string, string[]>> = [
    { organiserBearer: [] },
    { organiserCookie: [] },
  ];
  const organiser = (summary: string) => ({ tags: ["organiser"], summary, security });
  const overviewSchema = z.looseObject({
    backend: z.enum(["local", "kubernetes"]),
    settings: z.looseObject({ accessCode: z.enum(["none", "set"]) }),
    capacity: z.looseObject({}),
    launches: z.looseObject({}),
  });
  const sandboxesSchema = z.object({
    sandboxes: z.array(
      sandboxResponseSchema.extend({
        owner: z.string(),
        warm: z.boolean(),
        ageSeconds: z.number().int(),
        secondsLeft: z.number().int().nullable(),
        readySeconds: z.number().int().nullable(),
      }),
    ),
  });
  const extendBody = extendBodySchema(config.workshop.maxLifetimeMinutes);
  const countsSchema = (keys: string[]) =>
    z.object(Object.fromEntries(keys.map((k) => [k, z.number().int().min(0)])));

  app.post(
    "/admin/login",
    { schema: { hide: true, body: loginBodySchema } },
    async (request, reply) => {
      const body = request.body;
      if (
        !(await verifyOrganiserToken(ctx.limits, request, reply, body.token, config.organiserToken))
      ) {
        request.log.warn("Organiser sign-in with a wrong token");
        return reply.redirect("/admin?error=wrong-token", 303);
      }
      await startOrganiserSession(app, request, reply, config.organiserSessionHours * 3600);
      return reply.redirect("/admin", 303);
    },
  );

  app.post("/admin/logout", { schema: { hide: true } }, async (request, reply) => {
    await endOrganiserSession(app, request, reply);
    return reply.redirect("/admin", 303);
  });

  app.get(
    "/api/admin/overview",
    {
      schema: {
        ...organiser("Settings, capacity and launch-time histogram"),
        response: { 200: overviewSchema, ...errorResponses(401, 403, 429) },
      },
    },
    async (request) => {
      await requireOrganiser(app, ctx, request);
      const stats = service.stats;
      const { accessCode, ...settings } = config.workshop;
      return {
        backend: ctx.backend.kind,
        settings: {
          ...settings,
          accessCode: accessCode === undefined ? ("none" as const) : ("set" as const),
        },
        capacity: service.capacity(),
        launches: {
          count: stats.count,
          p50Ms: stats.quantileMs(0.5) ?? null,
          p95Ms: stats.quantileMs(0.95) ?? null,
          typicalMs: stats.typicalMs(),
          histogram: stats.histogram(),
        },
      };
    },
  );

  app.get(
    "/api/admin/sandboxes",
    {
      schema: {
        ...organiser("Every sandbox with owner, phase, age, time left and ready time"),
        response: { 200: sandboxesSchema, ...errorResponses(401, 403, 429) },
      },
    },
    async (request) => {
      await requireOrganiser(app, ctx, request);
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
    },
  );

  app.post(
    "/api/admin/sandboxes",
    {
      schema: {
        ...organiser("Start warm sandboxes"),
        body: adminStartBodySchema,
        response: {
          201: z.object({ created: z.array(z.string()) }),
          ...errorResponses(400, 401, 403, 429, 502),
        },
      },
    },
    async (request, reply) => {
      await requireOrganiser(app, ctx, request);
      const { count } = request.body;
      const created: string[] = [];
      for (let i = 0; i < count; i += 1) {
        // Unclaimed warm sandboxes never expire; a claim gives them the attendee's lifetime.
        const state = await ctx.backend.create({ id: newSandboxId(), owner: "", expiresAt: NEVER });
        created.push(state.id);
      }
      request.log.info({ count }, "Started warm sandboxes");
      reply.code(201);
      return { created };
    },
  );

  app.post(
    "/api/admin/sandboxes/:id/extend",
    {
      schema: {
        ...organiser("Extend one sandbox"),
        params: idParamsSchema,
        body: extendBody,
        response: {
          200: sandboxResponseSchema,
          ...errorResponses(400, 401, 403, 404, 409, 429, 502),
        },
      },
    },
    async (request) => {
      await requireOrganiser(app, ctx, request);
      const { id } = request.params;
      return sandboxResponse(await service.extend(id, request.body.minutes));
    },
  );

  app.delete(
    "/api/admin/sandboxes/:id",
    {
      schema: {
        ...organiser("Expire one sandbox"),
        params: idParamsSchema,
        response: {
          204: z.null().describe("Expired"),
          ...errorResponses(400, 401, 403, 404, 429, 502),
        },
      },
    },
    async (request, reply) => {
      await requireOrganiser(app, ctx, request);
      const { id } = request.params;
      await service.expire(id);
      reply.code(204);
      return null;
    },
  );

  app.post(
    "/api/admin/extend-all",
    {
      schema: {
        ...organiser("Extend every sandbox"),
        body: extendBody,
        response: {
          200: countsSchema(["extended", "atLimit", "failed"]),
          ...errorResponses(400, 401, 403, 429),
        },
      },
    },
    async (request) => {
      await requireOrganiser(app, ctx, request);
      const body = request.body;
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
    },
  );

  app.post(
    "/api/admin/expire-all",
    {
      schema: {
        ...organiser("Expire every sandbox"),
        body: adminExpireAllSchema,
        response: {
          200: countsSchema(["expired", "failed"]),
          ...errorResponses(400, 401, 403, 429),
        },
      },
    },
    async (request) => {
      await requireOrganiser(app, ctx, request);
      const ids = service.listAll().map((e) => e.view.id);
      const results = await Promise.allSettled(ids.map((id) => service.expire(id)));
      return {
        expired: results.filter((r) => r.status === "fulfilled").length,
        failed: results.filter((r) => r.status === "rejected").length,
      };
    },
  );
}
