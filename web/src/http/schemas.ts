import { z } from "zod";
import { SANDBOX_ID_PATTERN } from "../core/ids.js";

/** HTTP bodies and parameters: the single source for validation and the OpenAPI document. */
export const launchBodySchema = z
  .strictObject({
    accessCode: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe("The workshop's access code, if it has one"),
  })
  .describe("Launch a sandbox for the calling attendee");

export const extendBodySchema = (maxMinutes: number) =>
  z
    .strictObject({
      minutes: z
        .number()
        .int()
        .min(1)
        .max(maxMinutes)
        .optional()
        .describe("How many minutes to add (default 30, capped at the workshop's max lifetime)"),
    })
    .describe("Extend a sandbox");

export const adminStartBodySchema = z
  .strictObject({
    count: z.number().int().min(1).max(500).describe("How many warm sandboxes to start"),
  })
  .describe("Start warm sandboxes that attendees can claim instantly");

export const idParamsSchema = z.strictObject({
  id: z
    .string()
    .max(63)
    .regex(SANDBOX_ID_PATTERN, "is not a sandbox id")
    .describe("A sandbox id (a DNS label; the launcher issues sb- and 20 base32 characters)"),
});

export const loginBodySchema = z.strictObject({
  token: z.string().min(1).max(500),
});

export const stepSchema = z.object({
  key: z.string(),
  text: z.string(),
  status: z.enum(["waiting", "active", "done", "failed"]),
});

export const sandboxResponseSchema = z.object({
  id: z.string(),
  phase: z.enum(["Queued", "Pending", "Provisioning", "Ready", "Expiring", "Failed"]),
  headline: z.string(),
  message: z.string(),
  steps: z.array(stepSchema),
  ready: z.boolean(),
  failed: z.boolean(),
  slow: z.boolean(),
  position: z.number().int().optional(),
  queueLength: z.number().int().optional(),
  waiting: z
    .boolean()
    .optional()
    .describe("true while the attendee waits in line for a seat of a full workshop"),
  estimatedWaitMs: z
    .number()
    .optional()
    .describe("estimated milliseconds until the sandbox starts, while waiting in line"),
  requestedAt: z.iso.datetime(),
  readyAt: z.iso.datetime().nullable(),
  expiresAt: z.iso.datetime().nullable(),
  typicalStartMs: z.number(),
  sandboxUrl: z
    .string()
    .nullable()
    .describe("The page with the notebook and the countdown, once Ready"),
  notebookUrl: z.string().nullable(),
  dashboardUrl: z.string().nullable(),
});

export const errorResponseSchema = z
  .looseObject({
    code: z.string().describe("Stable error code (see web/README.md)"),
    message: z.string().describe("What went wrong and what to do"),
  })
  .describe("An error: a stable code, a message saying what to do, sometimes more fields");

export const adminExpireAllSchema = z
  .strictObject({
    confirm: z.literal(true).describe("Must be true: expiring every sandbox cannot be undone"),
  })
  .describe("Expire every sandbox now");

/** Response schemas for the given error statuses (every error has the same shape). */
export function errorResponses(...statuses: number[]): Record<number, typeof errorResponseSchema> {
  return Object.fromEntries(statuses.map((s) => [s, errorResponseSchema]));
}

const count = z.number().int().min(0);

export const workshopResponseSchema = z.object({
  title: z.string(),
  capacity: z.looseObject({
    max: count,
    used: count,
    left: count,
    queued: count,
    waiting: count,
    warm: count,
    warmReady: count,
  }),
  accessCodeRequired: z.boolean(),
  lifetimeMinutes: count,
  maxLifetimeMinutes: count,
  warningMinutes: count,
  workers: count,
  mySandbox: z.string().nullable().describe("The caller's sandbox id, if any"),
});

export const meResponseSchema = z.object({
  attendee: z.string(),
  organiser: z.boolean(),
  sandbox: z.string().nullable(),
});

export const zipResponseSchema = z.unknown().describe("application/zip, streamed");

export const launchResponseSchema = sandboxResponseSchema.extend({
  outcome: z
    .enum(["existing", "queued", "claimed", "waiting"])
    .describe(
      "existing: the caller's sandbox; queued: a new one waits to start; claimed: a warm one; waiting: the workshop is full and the caller joined the waiting line (position, estimatedWaitMs)",
    ),
});
