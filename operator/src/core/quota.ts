import { formatCpuMillis, formatMemoryMi } from "../api/quantity.js";
import type { SandboxTemplate } from "../api/workshop.js";
import { type SandboxRef, childLabels } from "./labels.js";
import type { KubeObject } from "./kube-object.js";
import { componentSizes } from "./sizing.js";
import { sandboxEphemeralStorageBytes } from "./workloads.js";

/** ResourceQuota (exactly the template's pods) and LimitRange (defaults and maxima). */
export function quotaObjects(input: {
  ref: SandboxRef;
  namespace: string;
  template: SandboxTemplate;
}): KubeObject[] {
  const { ref, namespace, template } = input;
  const sizes = componentSizes(template);
  const parts = [sizes.scheduler, sizes.notebook, ...Array(template.workers).fill(sizes.worker)];
  const cpu = formatCpuMillis(parts.reduce((sum, p) => sum + p.cpuMillis, 0));
  const memory = formatMemoryMi(parts.reduce((sum, p) => sum + p.memoryBytes, 0));
  const maxCpu = formatCpuMillis(Math.max(...parts.map((p) => p.cpuMillis)));
  const maxMemory = formatMemoryMi(Math.max(...parts.map((p) => p.memoryBytes)));
  const minCpu = formatCpuMillis(Math.min(100, ...parts.map((p) => p.cpuMillis)));
  const minMemory = formatMemoryMi(Math.min(128 * 1024 ** 2, ...parts.map((p) => p.memoryBytes)));
  const storage = formatMemoryMi(sandboxEphemeralStorageBytes(template));
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
