import { formatCpuMillis, formatMemoryMi } from "../api/quantity.js";
import type { SandboxTemplate } from "../api/workshop.js";
import { type SandboxRef, childLabels } from "./labels.js";
import type { KubeObject } from "./kube-object.js";
import { componentSize, componentSizes } from "./sizing.js";
import { ARCHIVE_CONTAINER_RESOURCES, sandboxEphemeralStorageBytes } from "./workloads.js";

/** ResourceQuota (exactly the template's pods) and LimitRange (defaults and maxima). */
export function quotaObjects(input: {
  ref: SandboxRef;
  namespace: string;
  template: SandboxTemplate;
  /** The notebook pod has an archive container too. */
  archive?: boolean;
}): KubeObject[] {
  const { ref, namespace, template } = input;
  const archive = input.archive === true;
  const sizes = componentSizes(template);
  const parts = [sizes.scheduler, sizes.notebook, ...Array(template.workers).fill(sizes.worker)];
  // Containers, for the sums and the LimitRange; pods stay one per part.
  const containers = archive
    ? [...parts, componentSize(ARCHIVE_CONTAINER_RESOURCES, "archive")]
    : parts;
  const cpu = formatCpuMillis(containers.reduce((sum, p) => sum + p.cpuMillis, 0));
  const memory = formatMemoryMi(containers.reduce((sum, p) => sum + p.memoryBytes, 0));
  const maxCpu = formatCpuMillis(Math.max(...containers.map((p) => p.cpuMillis)));
  const maxMemory = formatMemoryMi(Math.max(...containers.map((p) => p.memoryBytes)));
  const minCpu = formatCpuMillis(Math.min(100, ...containers.map((p) => p.cpuMillis)));
  const minMemory = formatMemoryMi(
    Math.min(128 * 1024 ** 2, ...containers.map((p) => p.memoryBytes)),
  );
  const storage = formatMemoryMi(sandboxEphemeralStorageBytes(template, archive));
  const labels = childLabels(ref);
  return [
    {
      apiVersion: "v1",
      kind: "ResourceQuota",
      metadata: { name: "sandbox", namespace, labels },
      spec: {
        hard: {
          pods: String(parts.length),
          "requests.cpu": cpu,
          "limits.cpu": cpu,
          "requests.memory": memory,
          "limits.memory": memory,
          // Every container's root filesystem is read-only; its volumes and logs are all
          // it writes, and they are bounded here as well as by each volume's sizeLimit.
          "requests.ephemeral-storage": storage,
          "limits.ephemeral-storage": storage,
          // No object-count limits on services/secrets: quota usage is updated
          // asynchronously, so a tight count can refuse re-applying a deleted object.
          "services.loadbalancers": "0",
          "services.nodeports": "0",
          persistentvolumeclaims: "0",
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "LimitRange",
      metadata: { name: "sandbox", namespace, labels },
      spec: {
        limits: [
          {
            type: "Container",
            // Defaults (for containers without resources) must not exceed the maxima.
            default: { cpu: minCpu, memory: minMemory },
            defaultRequest: { cpu: minCpu, memory: minMemory },
            max: { cpu: maxCpu, memory: maxMemory },
          },
        ],
      },
    },
  ];
}
