import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { LauncherError } from "../errors.js";

/** A request that failed its route schema, as the launcher's 400 naming each bad field. */
export function validationProblem(error: unknown): LauncherError | undefined {
  if (!hasZodFastifySchemaValidationErrors(error)) return undefined;
  const where = (error as { validationContext?: string }).validationContext ?? "request";
  const detail = error.validation
    .map((v) => {
      const field = v.instancePath.split("/").filter((p) => p.length > 0);
      return `${[where, ...field].join(".")}: ${v.message}`;
    })
    .join("; ");
  return new LauncherError("invalid-request", `invalid request: ${detail}`);
}

const METHODS: HTTPMethods[] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/**
 * Unknown paths get 404; a known path asked with a method it does not have (TRACE, PUT on
 * a GET route...) gets 405 with the methods it does have in `Allow`.
 */
export function registerMethodNotAllowed(app: FastifyInstance): void {
  const answer = (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split("?")[0] ?? "/";
    const allowed = METHODS.filter(
      (method) => method !== request.method && app.findRoute({ method, url: path }) !== null,
    );
    if (allowed.length > 0) {
      return reply
        .code(405)
        .header("allow", allowed.join(", "))
        .send({
          code: "method-not-allowed",
          message: `${request.method} is not allowed on ${path}; use ${allowed.join(" or ")}`,
        });
    }
    return reply.code(404).send({
      code: "not-found",
      message: `nothing at ${request.method} ${path}`,
    });
  };
  // Answered before the body is parsed, so a body-carrying method (QUERY, PUT) with no
  // content type still gets 405/404 rather than a content-type 400.
  app.addHook("onRequest", async (request, reply) => {
    if (request.is404) return answer(request, reply);
  });
  app.setNotFoundHandler(answer);
}

/** A POST without a body is validated as `{}` (so "{}" and nothing mean the same). */
export function treatMissingBodyAsEmpty(app: FastifyInstance): void {
  app.addHook("preValidation", async (request) => {
    // Only where a body is validated: the proxy's routes forward what came (nothing, for a GET).
    if (request.routeOptions.schema?.body === undefined) return;
    if (request.body === undefined || request.body === null) request.body = {};
  });
}
