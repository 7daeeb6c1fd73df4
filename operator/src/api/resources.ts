import { z } from "zod";
import { sandboxSpecSchema, sandboxStatusSchema } from "./sandbox.js";
import { workshopSpecSchema, workshopStatusSchema } from "./workshop.js";

/** The part of ObjectMeta the operator and launcher read. */
export const objectMetaSchema = z.object({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
});
export type ObjectMeta = z.infer<typeof objectMetaSchema>;

export const workshopSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal("Workshop"),
  metadata: objectMetaSchema,
  spec: workshopSpecSchema,
  status: workshopStatusSchema.optional(),
});
export type Workshop = z.infer<typeof workshopSchema>;

export const sandboxSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal("Sandbox"),
  metadata: objectMetaSchema,
  spec: sandboxSpecSchema,
  status: sandboxStatusSchema.optional(),
});
export type Sandbox = z.infer<typeof sandboxSchema>;

/** Decodes a Workshop read from the API; the error names the field that is wrong. */
export function parseWorkshop(
  value: unknown,
): { ok: true; workshop: Workshop } | { ok: false; error: string } {
  const result = workshopSchema.safeParse(value);
  if (result.success) return { ok: true, workshop: result.data };
  return { ok: false, error: z.prettifyError(result.error) };
}

/** Decodes a Sandbox read from the API; the error names the field that is wrong. */
export function parseSandbox(
  value: unknown,
): { ok: true; sandbox: Sandbox } | { ok: false; error: string } {
  const result = sandboxSchema.safeParse(value);
  if (result.success) return { ok: true, sandbox: result.data };
  return { ok: false, error: z.prettifyError(result.error) };
}
