import { z } from "zod";

export const conditionStatusSchema = z.enum(["True", "False", "Unknown"]);

/** A Kubernetes-style condition (metav1.Condition). */
export const conditionSchema = z
  .object({
    type: z.string().min(1).max(316).describe("Condition type, e.g. Ready."),
    status: conditionStatusSchema.describe("True, False or Unknown."),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .describe("Machine-readable CamelCase reason for the last transition."),
    message: z.string().max(32768).default("").describe("Human-readable detail."),
    lastTransitionTime: z.iso.datetime().describe("When the status last changed."),
    observedGeneration: z.number().int().min(0).optional(),
  })
  .describe("A condition of the resource.");

export type Condition = z.infer<typeof conditionSchema>;
export type ConditionStatus = z.infer<typeof conditionStatusSchema>;

/** Finds a condition by type. */
export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
