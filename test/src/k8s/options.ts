import { z } from "zod";
import { K8sHarnessError, K8sHarnessErrorCode } from "./errors.js";

const quantity = z
  .string()
  .regex(
    /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/,
    "must be a Kubernetes quantity such as 8, 500m or 32Gi",
  );

/** The simulated (kwok) nodes a control plane starts with. */
export const NodePoolOptionsSchema = z
  .object({
    count: z.number().int().min(0).max(1000).default(2),
    cpu: quantity.default("8"),
    memory: quantity.default("32Gi"),
    pods: z.number().int().min(1).max(10_000).default(110),
    namePrefix: z
      .string()
      .regex(
        /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
        "must be a lower-case DNS label prefix such as kwok-node",
      )
      .max(40)
      .default("kwok-node"),
  })
  .strict();

export const ControlPlaneOptionsSchema = z
  .object({
    nodes: NodePoolOptionsSchema.default(NodePoolOptionsSchema.parse({})),
    /** Where certificates, etcd data, kubeconfigs and logs go; a new temporary directory if unset. stop() deletes it. */
    dataDir: z.string().min(1).optional(),
    /** Directory holding the binaries; found with test/k8s/build-tools.sh (or $LAUNCHBAY_K8S_TOOLS) if unset. */
    toolsDir: z.string().min(1).optional(),
    /** Let the processes outlive this Node.js process (for `npm run k8s:up`). */
    detached: z.boolean().default(false),
    /** How long start-up may take before it fails. */
    startTimeoutMs: z.number().int().positive().default(180_000),
    /** Pod IP range kwok hands out (its own default /24 runs out at 254 pods). */
    podCidr: z
      .string()
      .regex(/^[0-9.]+\/[0-9]+$/, "must be an IPv4 CIDR such as 10.244.0.1/16")
      .default("10.244.0.1/16"),
    /**
     * A real node will join (npm run k8s:up -- --real-node): the API server binds to and
     * advertises `address` (the pod bridge's, so pods reach it), node certificates and
     * kubeconfigs are made for `nodeName`, and the kwok nodes get the simulated-node taint.
     */
    realNode: z
      .object({
        address: z.string().regex(/^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/, "must be an IPv4 address"),
        nodeName: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS label"),
      })
      .strict()
      .optional(),
    serviceCidr: z
      .string()
      .regex(/^[0-9.]+\/[0-9]+$/, "must be an IPv4 CIDR such as 10.96.0.0/16")
      .default("10.96.0.0/16"),
  })
  .strict();

export type ControlPlaneOptions = z.input<typeof ControlPlaneOptionsSchema>;
export type ResolvedControlPlaneOptions = z.output<typeof ControlPlaneOptionsSchema>;
export type NodePoolOptions = z.output<typeof NodePoolOptionsSchema>;

export function parseControlPlaneOptions(input: unknown): ResolvedControlPlaneOptions {
  const result = ControlPlaneOptionsSchema.safeParse(input ?? {});
  if (!result.success) {
    const problems = result.error.issues
      .map((i) => `${i.path.join(".") || "(options)"}: ${i.message}`)
      .join("; ");
    throw new K8sHarnessError(
      K8sHarnessErrorCode.InvalidOptions,
      `invalid control-plane options: ${problems}`,
    );
  }
  return result.data;
}
