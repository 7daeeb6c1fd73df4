import { z } from "zod";

/**
 * Where sandbox pods may run: the Kubernetes scheduling fields, typed strictly so a typo
 * (`matchLabel`, `effects`) is an error rather than a field the API server silently drops.
 * The same schemas type the chart's nodeSelector/tolerations/affinity values
 * (values.schema.json is generated from them: `npm run crds`).
 */

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

const labelKey = z
  .string()
  .max(316)
  .regex(LABEL_KEY, { message: "must be a label key such as cloud.google.com/gke-nodepool" });
const labelValue = z
  .string()
  .max(63)
  .regex(LABEL_VALUE, { message: "must be a label value (≤ 63 letters, digits, - _ .)" });

export const nodeSelectorSchema = z
  .record(labelKey, labelValue)
  .describe("Node labels a pod's node must have (Kubernetes `nodeSelector`).");

export const tolerationSchema = z
  .strictObject({
    key: z.string().max(316).optional().describe("Taint key; empty with Exists matches all."),
    operator: z.enum(["Exists", "Equal"]).optional().describe("Exists or Equal (default)."),
    value: z.string().max(63).optional().describe("Taint value (with Equal)."),
    effect: z
      .enum(["NoSchedule", "PreferNoSchedule", "NoExecute"])
      .optional()
      .describe("Taint effect to tolerate; all when omitted."),
    tolerationSeconds: z
      .number()
      .int()
      .optional()
      .describe("With NoExecute: how long the pod stays after the taint appears."),
  })
  .describe("A Kubernetes toleration.");

export const tolerationsSchema = z
  .array(tolerationSchema)
  .max(32)
  .describe("Taints a pod tolerates (e.g. a dedicated workshop node pool's).");

const selectorRequirement = z.strictObject({
  key: z.string().min(1).max(316),
  operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
  values: z.array(z.string().max(63)).max(64).optional(),
});

const nodeSelectorRequirement = z.strictObject({
  key: z.string().min(1).max(316),
  operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]),
  values: z.array(z.string().max(63)).max(64).optional(),
});

export const labelSelectorSchema = z
  .strictObject({
    matchLabels: z.record(labelKey, labelValue).optional(),
    matchExpressions: z.array(selectorRequirement).max(32).optional(),
  })
  .describe("A Kubernetes label selector.");

const nodeSelectorTerm = z.strictObject({
  matchExpressions: z.array(nodeSelectorRequirement).max(32).optional(),
  matchFields: z.array(nodeSelectorRequirement).max(32).optional(),
});

const weight = z.number().int().min(1).max(100);

const podAffinityTerm = z.strictObject({
  labelSelector: labelSelectorSchema.optional(),
  namespaceSelector: labelSelectorSchema.optional(),
  namespaces: z.array(z.string().max(63)).max(64).optional(),
  topologyKey: z.string().min(1).max(316),
  matchLabelKeys: z.array(z.string().max(316)).max(32).optional(),
  mismatchLabelKeys: z.array(z.string().max(316)).max(32).optional(),
});

const podAffinity = z.strictObject({
  requiredDuringSchedulingIgnoredDuringExecution: z.array(podAffinityTerm).max(32).optional(),
  preferredDuringSchedulingIgnoredDuringExecution: z
    .array(z.strictObject({ weight, podAffinityTerm }))
    .max(32)
    .optional(),
});

export const affinitySchema = z
  .strictObject({
    nodeAffinity: z
      .strictObject({
        requiredDuringSchedulingIgnoredDuringExecution: z
          .strictObject({ nodeSelectorTerms: z.array(nodeSelectorTerm).min(1).max(32) })
          .optional(),
        preferredDuringSchedulingIgnoredDuringExecution: z
          .array(z.strictObject({ weight, preference: nodeSelectorTerm }))
          .max(32)
          .optional(),
      })
      .optional(),
    podAffinity: podAffinity.optional(),
    podAntiAffinity: podAffinity.optional(),
  })
  .describe("Kubernetes affinity (node affinity, pod affinity and anti-affinity).");

export const priorityClassNameSchema = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { message: "must be a PriorityClass name" })
  .describe("PriorityClass of the pods.");

/** Placement of a sandbox's pods; each field overrides the operator's default. */
export const placementSchema = z
  .strictObject({
    nodeSelector: nodeSelectorSchema.optional(),
    tolerations: tolerationsSchema.optional(),
    affinity: affinitySchema.optional(),
    priorityClassName: priorityClassNameSchema.optional(),
  })
  .describe(
    "Where sandbox pods run (e.g. a dedicated workshop node pool); each field replaces the operator's default.",
  );

export const networkPolicyPeerSchema = z
  .strictObject({
    podSelector: labelSelectorSchema.optional(),
    namespaceSelector: labelSelectorSchema.optional(),
    ipBlock: z
      .strictObject({
        cidr: z.string().min(1).max(64),
        except: z.array(z.string().min(1).max(64)).max(32).optional(),
      })
      .optional(),
  })
  .refine((p) => Object.keys(p).length > 0, {
    message: "an empty peer matches everything: name a podSelector, namespaceSelector or ipBlock",
  })
  .meta({ minProperties: 1 })
  .describe("A NetworkPolicy peer (`from`/`to` entry); an empty one is refused.");

export type Placement = z.infer<typeof placementSchema>;
export type NetworkPolicyPeer = z.infer<typeof networkPolicyPeerSchema>;
export type Toleration = z.infer<typeof tolerationSchema>;
export type Affinity = z.infer<typeof affinitySchema>;
