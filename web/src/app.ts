import fastifyCookie from "@fastify/cookie";
import { serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import { z } from "zod";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
} from "fastify";
import type { Backend } from "./backend/backend.js";
import type { LauncherConfig } from "./config.js";
import { isLauncherError, LauncherError } from "./errors.js";
import { registerAdminRoutes } from "./http/admin-routes.js";
import { registerApiRoutes } from "./http/api-routes.js";
import { registerArchiveRoutes } from "./http/archive-routes.js";
import { AbuseLimits, type RateLimitStoreClass } from "./http/abuse-limits.js";
import { type AppContext, saveOpenDocuments } from "./http/context.js";
import { capNewIdentities } from "./http/identity-cap.js";
import { LauncherMetrics } from "./http/metrics.js";
import { registerOpenApi } from "./http/openapi.js";
import {
  registerMethodNotAllowed,
  treatMissingBodyAsEmpty,
  validationProblem,
} from "./http/route-errors.js";
import { limitBearerGuessing } from "./http/organiser-auth.js";
import {
  MemoryOrganiserSessions,
  type NonceLedger,
  type OrganiserSessionStore,
} from "./http/organiser-sessions.js";
import { ANY_HOST_ROUTE, registerHostCheck } from "./http/host-check.js";
import { HostPolicy } from "./http/host-policy.js";
import { registerPageRoutes } from "./http/pages.js";
import { registerProxyRoutes } from "./http/proxy-routes.js";
import { SandboxCredentials } from "./http/sandbox-credentials.js";
import { errorResponseSchema } from "./http/schemas.js";
import { attachUpgradeHandler } from "./http/upgrade.js";
import { SaveBridge } from "./http/save-bridge.js";
import type { WaitingLineStore } from "./core/waiting-line.js";
import { LaunchService } from "./launch/launch-service.js";
import type { SharedLine } from "./launch/shared-seats.js";
import { WarmPoolKeeper } from "./launch/warm-pool.js";

export interface BuildAppOptions {
  config: LauncherConfig;
  backend: Backend;
  /** Fastify's logger option; defaults to pino JSON at `config.logLevel`. */
  logger?: FastifyServerOptions["logger"];
  /** An existing pino logger (main.ts shares one with the backend); wins over `logger`. */
  loggerInstance?: FastifyBaseLogger;
  /** Log every request and response (default); main.ts turns it off on a terminal. */
  requestLogging?: boolean;
  now?: () => number;
  /** What the slow-start notice assumes before any launch has finished (ms). */
  defaultTypicalStartMs?: number;
  /** A rate-limit store shared between replicas (default: in memory, per process). */
  rateLimitStore?: RateLimitStoreClass;
  /** Organiser sessions shared between replicas (default: in memory, per process). */
  organiserSessions?: OrganiserSessionStore;
  /** Used handover tokens, shared between replicas (default: in memory, per process). */
  handoverNonces?: NonceLedger;
  /** Where the waiting line is kept (the local backend's SQLite state; default: memory). */
  waitingLineStore?: WaitingLineStore;
  /** Launch statistics from the backend's sandboxes (shared), not this process's launches. */
  statsFromBackend?: boolean;
  /** Seats and waiting line shared between replicas (Kubernetes: a Lease; default: this process). */
  line?: SharedLine;
}

export interface LauncherApp extends FastifyInstance {
  launcher: AppContext;
}

/**
 * Builds the launcher (routes, proxy, WebSocket upgrades, metrics) without listening.
 * Starts the backend; `app.close()` stops the service and closes the backend.
 */
export async function buildApp(options: BuildAppOptions): Promise<LauncherApp> {
  const { config, backend } = options;
  const now = options.now ?? Date.now;
  const app = Fastify({
    ...(options.loggerInstance
      ? { loggerInstance: options.loggerInstance }
      : { logger: options.logger ?? { level: config.logLevel } }),
    logController: new LogController({ disableRequestLogging: options.requestLogging === false }),
    // A hop count trusts the last N addresses of X-Forwarded-For (as Fastify does for a number).
    trustProxy:
      typeof config.trustProxy === "number"
        ? (_address: string, hop: number) => hop < (config.trustProxy as number)
        : config.trustProxy,
    bodyLimit: 64 * 1024,
    forceCloseConnections: true,
    routerOptions: { ignoreDuplicateSlashes: false },
  });
  const metrics = new LauncherMetrics();
  backend.registerMetrics?.(metrics.registry);
  const service = new LaunchService({
    backend,
    settings: config.workshop,
    maxConcurrentStarts: config.maxConcurrentStarts,
    metrics,
    log: app.log,
    now,
    defaultTypicalStartMs: options.defaultTypicalStartMs,
    waitingLine: {
      graceMs: config.waitingLine.graceSeconds * 1000,
      max: config.waitingLine.max,
      store: options.waitingLineStore,
    },
    line: options.line,
    statsFromBackend: options.statsFromBackend,
  });
  await app.register(fastifyCookie, { secret: config.cookieSecret, hook: "onRequest" });
  const limits = await AbuseLimits.register(app, config, metrics, {
    now,
    store: options.rateLimitStore,
  });
  const saveBridge = new SaveBridge();
  const ctx: AppContext = {
    config,
    backend,
    service,
    metrics,
    limits,
    saveBridge,
    now,
    ready: { value: false },
  };
  app.decorate("launcher", ctx);
  app.decorate("launcherNow", now);
  app.decorate(
    "organiserSessions",
    options.organiserSessions ??
      new MemoryOrganiserSessions(config.organiserSessionHours * 3_600_000),
  );
  app.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string" },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );

  // Route schemas are zod schemas: one source for validation and the OpenAPI document.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await registerOpenApi(app);

  app.setErrorHandler((error, request, reply) => {
    const invalid = validationProblem(error);
    if (invalid) return reply.code(400).send(invalid.toJSON());
    if (isLauncherError(error)) {
      if (error.status >= 500) request.log.error({ err: error }, error.message);
      return reply.code(error.status).send(error.toJSON());
    }
    const err = error as { statusCode?: number; code?: string; message?: string };
    if (err.statusCode && err.statusCode < 500) {
      const code =
        err.statusCode === 404
          ? "not-found"
          : err.statusCode === 429
            ? "rate-limited"
            : "invalid-request";
      return reply.code(err.statusCode).send({ code, message: err.message ?? "bad request" });
    }
    request.log.error({ err: error }, "Unhandled error");
    return reply.code(500).send({
      code: "internal",
      message: "something went wrong in the launcher; the organiser can find details in its logs",
    });
  });

  registerMethodNotAllowed(app);
  treatMissingBodyAsEmpty(app);

  const hosts = new HostPolicy(config.publicHosts, config.sandboxDomain);
  const credentials = new SandboxCredentials(config.cookieSecret, now, options.handoverNonces);
  registerHostCheck(app, config, hosts);

  limitBearerGuessing(app, limits, config.organiserToken);
  capNewIdentities(app, limits);

  app.addHook("onSend", async (request, reply, payload) => {
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "same-origin");
    if (!reply.hasHeader("content-security-policy")) {
      reply.header("content-security-policy", "default-src 'none'; frame-ancestors 'none'");
    }
    if (request.protocol === "https") reply.header("strict-transport-security", "max-age=31536000");
    return payload;
  });

  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    metrics.httpSeconds.observe(
      { route, method: request.method, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  /** The probes answer text/plain; the document describes them as a string. */
  const text = (what: string) => ({ 200: z.string().describe(what) });
  app.get(
    "/healthz",
    {
      config: ANY_HOST_ROUTE,
      schema: { summary: "Liveness", tags: ["probes"], response: text("ok (text/plain)") },
    },
    async (_request, reply) => reply.type("text/plain").send("ok"),
  );
  app.get(
    "/readyz",
    {
      config: ANY_HOST_ROUTE,
      schema: {
        summary: "Readiness: the backend has loaded its state and the launcher is not stopping",
        tags: ["probes"],
        response: { ...text("ready (text/plain)"), 503: errorResponseSchema },
      },
    },
    async (_request, reply) => {
      if (!ctx.ready.value) {
        throw new LauncherError(
          "shutting-down",
          "the launcher is not ready: its backend has not loaded yet or it is shutting down",
        );
      }
      return reply.type("text/plain").send("ready");
    },
  );
  app.get(
    "/metrics",
    {
      config: ANY_HOST_ROUTE,
      schema: {
        summary: "Prometheus metrics",
        tags: ["probes"],
        response: text("Prometheus text format (text/plain)"),
      },
    },
    async (_request, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  registerApiRoutes(app, ctx);
  registerArchiveRoutes(app, ctx);
  registerAdminRoutes(app, ctx);
  registerPageRoutes(app, ctx, hosts, credentials);
  await registerProxyRoutes(app, ctx, credentials);
  const detachUpgrades = attachUpgradeHandler(app, ctx, hosts, credentials);

  // Before a sandbox's processes are stopped (expiry, Expire, idle timeout), its open
  // JupyterLab tabs save every document, so the archive holds the last edits too.
  backend.setBeforeStop?.((id) => saveOpenDocuments(ctx, id, app.log));
  app.addHook("preClose", async () => {
    ctx.ready.value = false;
    detachUpgrades();
    saveBridge.close();
  });
  app.addHook("onClose", async () => {
    service.close();
    await backend.close();
  });

  // On Kubernetes the operator keeps the Workshop's warm pool; locally the launcher does.
  const warmPool =
    backend.kind === "local"
      ? new WarmPoolKeeper(backend, config.workshop.warmPool, config.workshop.maxSandboxes, app.log)
      : undefined;
  app.addHook("preClose", async () => warmPool?.stop());

  await backend.start();
  service.start();
  warmPool?.start();
  ctx.ready.value = true;
  return app as unknown as LauncherApp;
}
