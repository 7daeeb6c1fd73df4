import { z } from "zod";
import { conditionSchema } from "./conditions.js";
import { DURATION_PATTERN, parseDuration } from "./duration.js";
import { placementSchema } from "./placement.js";
import { CPU_PATTERN, MEMORY_PATTERN } from "./quantity.js";

/**
 * The Workshop's defaults: the schema below applies them, and the chart's values.yaml and
 * the local launcher's settings (web/src/config.ts) start from them (tests check both).
 * No idle timeout and no sandbox cap by default.
 */
export const WORKSHOP_DEFAULTS = {
  lifetime: "2h",
  maxLifetime: "8h",
  warmPool: 0,
  workers: 3,
  archiveRetentionDays: 7,
} as const;

const durationSchema = (description: string) =>
  z
    .string()
    .min(2)
    .max(32)
    .regex(new RegExp(DURATION_PATTERN), {
      message: "must be a duration such as 2h, 90m, 1h30m or 45s",
    })
    .describe(description);

const resourcesSchema = (cpu: string, memory: string, what: string) =>
  z
    .object({
      cpu: z
        .string()
        .regex(new RegExp(CPU_PATTERN), { message: "must be a CPU quantity such as 500m or 2" })
        .default(cpu)
        .describe(`CPU for the ${what} container (request = limit).`),
      memory: z
        .string()
        .regex(new RegExp(MEMORY_PATTERN), {
          message: "must be a memory quantity such as 512Mi or 2Gi",
        })
        .default(memory)
        .describe(`Memory for the ${what} container (request = limit).`),
    })
    .prefault({})
    .describe(`Resources of the ${what}.`);

const storageQuantity = (fallback: string) =>
  z
    .string()
    .regex(new RegExp(MEMORY_PATTERN), {
      message: "must be a storage quantity such as 512Mi or 2Gi",
    })
    .default(fallback);

const imageSchema = (what: string) =>
  z
    .string()
    .min(1)
    .max(512)
    .regex(/^[^\s]+$/, { message: "must be an image reference without spaces" })
    .optional()
    .describe(`Image of the ${what}; the operator's default when omitted.`);

const RESERVED_ENV_MESSAGE = "LAUNCHBAY_* and NOTEBOOK_TOKEN are set by the operator";

export const envVarSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
        message: "must be an environment variable name (letters, digits, _)",
      })
      .max(128)
      .refine((name) => !name.startsWith("LAUNCHBAY_") && name !== "NOTEBOOK_TOKEN", {
        message: RESERVED_ENV_MESSAGE,
      })
      .meta({
        "x-kubernetes-validations": [
          {
            rule: "!self.startsWith('LAUNCHBAY_') && self != 'NOTEBOOK_TOKEN'",
            message: RESERVED_ENV_MESSAGE,
          },
        ],
      })
      .describe("Variable name (LAUNCHBAY_* and NOTEBOOK_TOKEN are reserved)."),
    value: z.string().max(4096).default("").describe("Variable value."),
  })
  .describe("An environment variable set on the notebook and worker containers.");

export const sandboxTemplateSchema = z
  .object({
    workers: z
      .number()
      .int()
      .min(0)
      .max(32)
      .default(WORKSHOP_DEFAULTS.workers)
      .describe("Number of worker pods per sandbox."),
    threadsPerWorker: z
      .number()
      .int()
      .min(1)
      .max(64)
      .optional()
      .describe("Task threads per worker; defaults to the worker CPU rounded up."),
    images: z
      .object({
        scheduler: imageSchema("scheduler"),
        worker: imageSchema("workers"),
        notebook: imageSchema("notebook"),
      })
      .prefault({})
      .describe("Container images; each defaults to the operator's configured image."),
    resources: z
      .object({
        scheduler: resourcesSchema("500m", "512Mi", "scheduler"),
        worker: resourcesSchema("1", "2Gi", "worker"),
        notebook: resourcesSchema("500m", "1Gi", "notebook"),
      })
      .prefault({})
      .describe("CPU and memory per component."),
    storage: z
      .object({
        work: storageQuantity("1Gi").describe(
          "The notebook's work folder (the attendee's notebooks and files).",
        ),
        scratch: storageQuantity("512Mi").describe(
          "Each container's /tmp, and the notebook's home (Jupyter settings and runtime files).",
        ),
      })
      .prefault({})
      .describe(
        "Writable disk per sandbox: every container's root filesystem is read-only, so these volumes are all it can write (counted in the sandbox's ephemeral-storage quota).",
      ),
    placement: placementSchema.optional(),
    env: z
      .array(envVarSchema)
      .max(64)
      .default([])
      .describe("Extra environment for the notebook and worker containers."),
    internetEgress: z
      .boolean()
      .default(false)
      .describe(
        "Allow egress to public internet addresses (never to the cloud metadata address or private ranges).",
      ),
  })
  .prefault({})
  .describe("What every sandbox of this workshop runs.");

export const accessSchema = z
  .object({
    mode: z
      .enum(["open", "accessCode"])
      .default("open")
      .describe("open: anyone with the link; accessCode: attendees enter a code."),
    secretName: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { message: "must be a Secret name" })
      .max(253)
      .optional()
      .describe("Secret (beside the Workshop) holding the access code; required for accessCode."),
    secretKey: z
      .string()
      .min(1)
      .max(253)
      .default("accessCode")
      .describe("Key in that Secret holding the access code."),
  })
  .superRefine((access, ctx) => {
    if (access.mode === "accessCode" && !access.secretName) {
      ctx.addIssue({
        code: "custom",
        path: ["secretName"],
        message: "access.mode accessCode needs access.secretName (a Secret holding the code)",
      });
    }
  })
  .prefault({})
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "!has(self.mode) || self.mode != 'accessCode' || has(self.secretName)",
        message: "access.mode accessCode needs access.secretName (a Secret holding the code)",
      },
    ],
  })
  .describe("Who may launch sandboxes.");

export const workshopSpecSchema = z
  .object({
    title: z.string().min(1).max(200).describe("Shown on the launch page."),
    sandbox: sandboxTemplateSchema,
    lifetime: durationSchema("How long a sandbox lives after launch.").default(
      WORKSHOP_DEFAULTS.lifetime,
    ),
    maxLifetime: durationSchema("Cap on a sandbox's life including extensions.").default(
      WORKSHOP_DEFAULTS.maxLifetime,
    ),
    idleTimeout: durationSchema(
      "Expire a sandbox whose notebook reports no activity for this long; never when omitted.",
    ).optional(),
    maxSandboxes: z
      .number()
      .int()
      .min(0)
      .max(100000)
      .optional()
      .describe("Most sandboxes (warm or claimed) at once; unlimited when omitted."),
    warmPool: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(WORKSHOP_DEFAULTS.warmPool)
      .describe("Unclaimed, Ready sandboxes kept for instant launches."),
    access: accessSchema,
    archiveRetentionDays: z
      .number()
      .int()
      .min(0)
      .max(3650)
      .default(WORKSHOP_DEFAULTS.archiveRetentionDays)
      .describe(
        "Days an attendee's work, archived when their sandbox ends, is kept for download and restored into their next sandbox; 0 keeps none. Needs the operator's object storage (archive settings).",
      ),
  })
  .superRefine((spec, ctx) => {
    const lifetime = parseDuration(spec.lifetime);
    const maxLifetime = parseDuration(spec.maxLifetime);
    if (lifetime === 0) {
      ctx.addIssue({ code: "custom", path: ["lifetime"], message: "lifetime must be positive" });
    }
    if (lifetime !== undefined && maxLifetime !== undefined && maxLifetime < lifetime) {
      ctx.addIssue({
        code: "custom",
        path: ["maxLifetime"],
        message: `maxLifetime (${spec.maxLifetime}) must be at least lifetime (${spec.lifetime})`,
      });
    }
    if (spec.maxSandboxes !== undefined && spec.warmPool > spec.maxSandboxes) {
      ctx.addIssue({
        code: "custom",
        path: ["warmPool"],
        message: `warmPool (${spec.warmPool}) cannot exceed maxSandboxes (${spec.maxSandboxes})`,
      });
    }
  })
  .describe("A workshop: the event whose attendees each get a sandbox.");

export const sandboxPhaseSchema = z.enum([
  "Pending",
  "Provisioning",
  "Ready",
  "Expiring",
  "Failed",
]);
export type SandboxPhase = z.infer<typeof sandboxPhaseSchema>;
export const SANDBOX_PHASES = sandboxPhaseSchema.options;

const countSchema = z.number().int().min(0);

export const workshopStatusSchema = z
  .object({
    observedGeneration: z.number().int().min(0).optional(),
    sandboxes: countSchema.optional().describe("Sandboxes of this workshop."),
    counts: z
      .object({
        Pending: countSchema.default(0),
        Provisioning: countSchema.default(0),
        Ready: countSchema.default(0),
        Expiring: countSchema.default(0),
        Failed: countSchema.default(0),
      })
      .optional()
      .describe("Sandboxes by phase."),
    warm: countSchema.optional().describe("Unclaimed Ready sandboxes in the warm pool."),
    claimed: countSchema.optional().describe("Sandboxes with an owner."),
    conditions: z.array(conditionSchema).optional(),
  })
  .describe("Observed state of the workshop.");

export type WorkshopSpec = z.infer<typeof workshopSpecSchema>;
export type WorkshopSpecInput = z.input<typeof workshopSpecSchema>;
export type WorkshopStatus = z.infer<typeof workshopStatusSchema>;
export type SandboxTemplate = z.infer<typeof sandboxTemplateSchema>;
