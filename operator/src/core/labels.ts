import { LABELS, MANAGED_BY_VALUE, PART_OF_VALUE } from "../api/constants.js";

/** Who a child object belongs to. */
export interface SandboxRef {
  /** Namespace of the Sandbox resource (not of its workloads). */
  namespace: string;
  name: string;
  workshop: string;
}

/** Labels on every object the operator creates for a sandbox. */
export function childLabels(ref: SandboxRef, component?: string): Record<string, string> {
  const labels: Record<string, string> = {
    [LABELS.managedBy]: MANAGED_BY_VALUE,
    [LABELS.partOf]: PART_OF_VALUE,
    [LABELS.sandbox]: ref.name.slice(0, 63),
    [LABELS.sandboxNamespace]: ref.namespace,
    [LABELS.workshop]: ref.workshop,
  };
  if (component) labels[LABELS.component] = component;
  return labels;
}

/** Label selector matching every child of every sandbox (for the operator's watches). */
export const MANAGED_SELECTOR = `${LABELS.managedBy}=${MANAGED_BY_VALUE}`;
