import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AbuseLimits } from "./abuse-limits.js";
import { safeEqual } from "./identity.js";

/**
 * Checks an organiser token under the sign-in limit (per address, exponential backoff):
 * a wrong token counts an attempt; past the limit every attempt, right or wrong, gets the
 * same 429, so guessing learns nothing while locked out.
 */
export async function verifyOrganiserToken(
  limits: AbuseLimits,
  request: FastifyRequest,
  reply: FastifyReply,
  given: string,
  expected: string,
): Promise<boolean> {
  if (safeEqual(given, expected)) {
    await limits.check("organiser-sign-in", request, reply);
    return true;
  }
  await limits.take("organiser-sign-in", request, reply);
  return false;
}

/** Bearer tokens on any route fall under the same sign-in limit as the form. */
export function limitBearerGuessing(
  app: FastifyInstance,
  limits: AbuseLimits,
  organiserToken: string,
): void {
  app.addHook("onRequest", async (request, reply) => {
    const header = request.headers.authorization;
    if (!header?.startsWith("Bearer ")) return;
    await verifyOrganiserToken(
      limits,
      request,
      reply,
      header.slice("Bearer ".length).trim(),
      organiserToken,
    );
  });
}
