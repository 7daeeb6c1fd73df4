import { z } from "zod";
import { conditionSchema } from "./conditions.js";
import { sandboxPhaseSchema } from "./workshop.js";

export const SANDBOX_CONDITION_TYPES = [
  "SchedulerReady",
  "WorkersReady",
  "NotebookReady",
  "Ready",
] as const;
export type SandboxConditionType = (typeof SANDBOX_CONDITION_TYPES)[number];

export const sandboxSpecSchema = z
  .object({
    workshop: z
      .string()
      .min(1)
      .max(63)
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, {
        message: "must be the name of a Workshop in the same namespace",
      })
      .meta({
        "x-kubernetes-validations": [{ rule: "self == oldSelf", message: "workshop is immutable" }],
      })
      .describe("Name of the Workshop (same namespace) this sandbox belongs to."),
    owner: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .describe("Opaque id of the attendee; unset while the sandbox waits in the warm pool."),
    expiresAt: z.iso
      .datetime({ offset: true })
      .optional()
      .describe(
        "When the sandbox goes (RFC 3339). Defaults to claim time + the workshop's lifetime; capped at claim time + maxLifetime.",
      ),
  })
  .describe("One attendee's sandbox.");

export const sandboxEndpointsSchema = z
  .object({
    scheduler: z.string().optional().describe("In-cluster WebSocket address of the scheduler."),
    dashboard: z.string().optional().describe("In-cluster URL of the scheduler's dashboard."),
    notebook: z.string().optional().describe("In-cluster URL of the notebook server."),
  })
  .describe("In-cluster addresses of the sandbox's services.");

export const sandboxCrashSchema = z
  .object({
    pod: z.string().max(253),
    component: z.string().max(63).describe("scheduler, worker or notebook."),
    container: z.string().max(253),
    at: z.iso.datetime({ offset: true }).describe("When the container ended."),
    reason: z.string().max(256).describe("The kubelet's reason, e.g. Error or OOMKilled."),
    exitCode: z.number().int(),
  })
  .describe("One container crash the operator saw.");

export const sandboxStatusSchema = z
  .object({
    phase: sandboxPhaseSchema
      .optional()
      .describe("Pending, Provisioning, Ready, Expiring or Failed."),
    conditions: z.array(conditionSchema).optional(),
    namespace: z.string().optional().describe("The namespace holding this sandbox's workloads."),
    endpoints: sandboxEndpointsSchema.optional(),
    claimedAt: z.iso
      .datetime()
      .optional()
      .describe("When the sandbox first had an owner (the start of its lifetime)."),
    readyAt: z.iso.datetime().optional().describe("When the sandbox first became Ready."),
    expiresAt: z.iso
      .datetime()
      .optional()
      .describe("Effective expiry: spec.expiresAt capped by maxLifetime, or idle expiry."),
    lastActivityAt: z.iso
      .datetime()
      .optional()
      .describe("Last activity the notebook or the launcher reported."),
    message: z.string().max(32768).optional().describe("Human-readable state."),
    crashes: z
      .array(sandboxCrashSchema)
      .max(64)
      .optional()
      .describe(
        "Container crashes within the crash window (newest last); the sandbox turns Failed at the operator's crash limit.",
      ),
    observedGeneration: z.number().int().min(0).optional(),
  })
  .describe("Observed state of the sandbox.");

export type SandboxSpec = z.infer<typeof sandboxSpecSchema>;
export type SandboxStatus = z.infer<typeof sandboxStatusSchema>;
export type SandboxEndpoints = z.infer<typeof sandboxEndpointsSchema>;
export type SandboxCrash = z.infer<typeof sandboxCrashSchema>;
