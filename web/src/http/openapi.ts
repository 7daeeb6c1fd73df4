import { z } from "zod";
import {
  adminExpireAllSchema,
  adminStartBodySchema,
  errorResponseSchema,
  extendBodySchema,
  launchBodySchema,
  sandboxResponseSchema,
} from "./schemas.js";

type Json = Record<string, unknown>;

const schema = (s: z.ZodType): Json =>
  z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as Json;

function op(
  summary: string,
  options: {
    body?: z.ZodType;
    ok?: [number, string, Json?];
    errors?: number[];
    auth?: "attendee" | "organiser";
    params?: boolean;
  } = {},
): Json {
  const [status, description, okSchema] = options.ok ?? [200, "OK"];
  const responses: Json = {
    [status]: okSchema
      ? { description, content: { "application/json": { schema: okSchema } } }
      : { description },
  };
  for (const code of options.errors ?? []) {
    responses[code] = {
      description: "Error",
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    };
  }
  return {
    summary,
    ...(options.params
      ? {
          parameters: [
            {
              name: "id",
              in: "path",
              required: true,
              schema: { type: "string", pattern: "^[a-z0-9-]{1,63}$" },
            },
          ],
        }
      : {}),
    ...(options.body
      ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: schema(options.body) } },
          },
        }
      : {}),
    security:
      options.auth === "organiser"
        ? [{ organiserBearer: [] }, { organiserCookie: [] }]
        : options.auth === "attendee"
          ? [{ attendeeCookie: [] }]
          : [],
    responses,
  };
}

/** The OpenAPI 3.1 description of the launcher's HTTP API, built from the same zod schemas. */
export function openApiDocument(maxLifetimeMinutes: number): Json {
  const sandbox = { $ref: "#/components/schemas/Sandbox" };
  return {
    openapi: "3.1.0",
    info: {
      title: "launchbay launcher API",
      version: "0.1.0",
      description:
        "Attendees are identified by a signed HttpOnly cookie (lb_attendee) issued on first visit. State-changing requests must come from the launcher's own origin. Errors are JSON {code, message}.",
    },
    components: {
      schemas: { Sandbox: schema(sandboxResponseSchema), Error: schema(errorResponseSchema) },
      securitySchemes: {
        attendeeCookie: { type: "apiKey", in: "cookie", name: "lb_attendee" },
        organiserCookie: { type: "apiKey", in: "cookie", name: "lb_organiser" },
        organiserBearer: { type: "http", scheme: "bearer" },
      },
    },
    paths: {
      "/api/workshop": {
        get: op("Workshop title, capacity and the caller's sandbox", { auth: "attendee" }),
      },
      "/api/me": { get: op("The caller's identity and sandbox", { auth: "attendee" }) },
      "/api/sandboxes": {
        post: op("Launch a sandbox (or get the caller's existing one)", {
          auth: "attendee",
          body: launchBodySchema,
          ok: [201, "Launched (200 when the caller already had one)", sandbox],
          errors: [400, 403, 409, 429, 503],
        }),
      },
      "/api/sandboxes/{id}": {
        get: op("A sandbox's phase, message, expiry and URLs", {
          auth: "attendee",
          params: true,
          ok: [200, "The sandbox", sandbox],
          errors: [400, 404],
        }),
        delete: op("Expire a sandbox now", {
          auth: "attendee",
          params: true,
          ok: [204, "Expired"],
          errors: [400, 404, 409],
        }),
      },
      "/api/sandboxes/{id}/extend": {
        post: op("Extend a sandbox up to the workshop's max lifetime", {
          auth: "attendee",
          params: true,
          body: extendBodySchema(maxLifetimeMinutes),
          ok: [200, "Extended", sandbox],
          errors: [400, 404, 409, 429],
        }),
      },
      "/api/sandboxes/{id}/events": {
        get: op("WebSocket: a {type:'sandbox', sandbox} message on every change", {
          auth: "attendee",
          params: true,
          ok: [101, "Switching protocols"],
          errors: [400, 403, 404],
        }),
      },
      "/api/sandboxes/{id}/download": {
        get: op("A zip of the sandbox's notebook directory", {
          auth: "attendee",
          params: true,
          ok: [200, "application/zip"],
          errors: [404, 409, 502],
        }),
      },
      "/api/admin/overview": {
        get: op("Settings, capacity and launch-time histogram", {
          auth: "organiser",
          errors: [401, 403],
        }),
      },
      "/api/admin/sandboxes": {
        get: op("Every sandbox with owner, phase, age, time left and ready time", {
          auth: "organiser",
          errors: [401, 403],
        }),
        post: op("Start warm sandboxes", {
          auth: "organiser",
          body: adminStartBodySchema,
          ok: [201, "Started"],
          errors: [400, 401, 403],
        }),
      },
      "/api/admin/sandboxes/{id}/extend": {
        post: op("Extend one sandbox", {
          auth: "organiser",
          params: true,
          body: extendBodySchema(maxLifetimeMinutes),
          ok: [200, "Extended", sandbox],
          errors: [400, 401, 403, 404, 409],
        }),
      },
      "/api/admin/sandboxes/{id}": {
        delete: op("Expire one sandbox", {
          auth: "organiser",
          params: true,
          ok: [204, "Expired"],
          errors: [401, 403, 404],
        }),
      },
      "/api/admin/extend-all": {
        post: op("Extend every sandbox", {
          auth: "organiser",
          body: extendBodySchema(maxLifetimeMinutes),
          errors: [400, 401, 403],
        }),
      },
      "/api/admin/expire-all": {
        post: op("Expire every sandbox", {
          auth: "organiser",
          body: adminExpireAllSchema,
          errors: [400, 401, 403],
        }),
      },
      "/healthz": { get: op("Liveness") },
      "/readyz": { get: op("Readiness: the backend has loaded its state", { errors: [503] }) },
      "/metrics": { get: op("Prometheus metrics") },
    },
  };
}
