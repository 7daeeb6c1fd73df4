import type { FastifyInstance } from "fastify";
import type { AbuseLimits } from "./abuse-limits.js";
import { hasAttendee } from "./identity.js";

/** Routes that issue an identity cookie to a visitor who has none. */
export const IDENTITY_ROUTES: ReadonlySet<string> = new Set([
  "/",
  "/api/workshop",
  "/api/sandboxes",
  "/api/me",
]);

/**
 * Caps the identities one address can mint (a visit without a valid cookie on a route that
 * issues one), so per-attendee limits cannot be reset with fresh cookies at will.
 */
export function capNewIdentities(app: FastifyInstance, limits: AbuseLimits): void {
  app.addHook("preHandler", async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === undefined || !IDENTITY_ROUTES.has(route)) return;
    if (request.method !== "GET" && request.method !== "POST") return;
    if (hasAttendee(app, request)) return;
    await limits.take("new-identity", request, reply);
  });
}
