import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { zipArchivedFiles } from "../download/archive-zip.js";
import { LauncherError } from "../errors.js";
import { type AppContext, enforceRateLimit, identity } from "./context.js";
import { errorResponses, zipResponseSchema } from "./schemas.js";

const archiveInfoSchema = z.object({
  savedAt: z.string().describe("When the work was saved (ISO 8601)"),
  keptUntil: z.string().describe("When it is deleted (ISO 8601)"),
  files: z.number().int().describe("Files in it"),
  bytes: z.number().int().describe("Their total size"),
});

/**
 * The caller's saved work from a sandbox that ended (expiry, Expire, failure, shutdown):
 * its summary and a zip. Scoped to the identity cookie: an attendee only ever sees their own.
 */
export function registerArchiveRoutes(root: FastifyInstance, ctx: AppContext): void {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const { config } = ctx;

  const findArchive = async (attendee: string | undefined) => {
    if (!attendee) {
      throw new LauncherError("no-identity", "no identity cookie: open the launch page first");
    }
    const work = await ctx.backend.archivedWork?.(attendee);
    if (!work) {
      throw new LauncherError(
        "not-found",
        "no saved work for you: work is saved when a sandbox ends, and kept for the workshop's retention period",
      );
    }
    return work;
  };

  app.get(
    "/api/archive",
    {
      schema: {
        tags: ["attendee"],
        summary: "What of the caller's work was saved when their last sandbox ended",
        response: { 200: archiveInfoSchema, ...errorResponses(401, 404, 429) },
      },
    },
    async (request, reply) => {
      const { attendee } = await identity(app, ctx, request);
      await enforceRateLimit(ctx, request, reply, attendee);
      const work = await findArchive(attendee);
      return {
        savedAt: new Date(work.savedAt).toISOString(),
        keptUntil: new Date(work.keptUntil).toISOString(),
        files: work.files.length,
        bytes: work.files.reduce((sum, f) => sum + f.size, 0),
      };
    },
  );

  app.get(
    "/api/archive/download",
    {
      schema: {
        tags: ["attendee"],
        summary: "A zip of the caller's saved work (application/zip, streamed)",
        response: { 200: zipResponseSchema, ...errorResponses(401, 404, 413, 429) },
      },
    },
    async (request, reply) => {
      const { attendee } = await identity(app, ctx, request);
      await enforceRateLimit(ctx, request, reply, attendee);
      const work = await findArchive(attendee);
      const zip = zipArchivedFiles(work.files, {
        maxFiles: config.downloadMaxFiles,
        maxBytes: config.downloadMaxMib * 1024 * 1024,
      });
      zip.on("error", (err) =>
        request.log.warn({ err }, "Archive download cut off: %s", err.message),
      );
      return reply
        .header("content-type", "application/zip")
        .header("content-disposition", 'attachment; filename="launchbay-saved-work.zip"')
        .header("cache-control", "no-store")
        .send(zip);
    },
  );
}
