import { kwokNodeAnnotation } from "./components.js";
import { type KubeClient, watchUntil } from "@launchbay/kube";
import type { NodePoolOptions } from "./options.js";

/** Label on every simulated node, for selecting them. */
export const kwokNodeLabel = { key: "launchbay.dev/test-node", value: "kwok" } as const;

interface NodeObject {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}

/**
 * Beside a real node, the kwok nodes carry this taint, so ordinary workloads run real
 * containers; scale tests tolerate it to use the simulated capacity.
 */
export const simulatedNodeTaint = {
  key: "launchbay.dev/simulated-node",
  value: "true",
  effect: "NoSchedule",
} as const;

/** Node objects for kwok to play: untainted unless `tainted`, so ordinary workloads schedule onto them. */
export function kwokNodeManifests(pool: NodePoolOptions, tainted = false): object[] {
  return Array.from({ length: pool.count }, (_, i) => {
    const name = `${pool.namePrefix}-${i}`;
    const resources = {
      cpu: pool.cpu,
      memory: pool.memory,
      pods: String(pool.pods),
      "ephemeral-storage": "100Gi",
    };
    return {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name,
        annotations: {
          [kwokNodeAnnotation.key]: kwokNodeAnnotation.value,
          "node.alpha.kubernetes.io/ttl": "0",
        },
        labels: {
          [kwokNodeLabel.key]: kwokNodeLabel.value,
          "kubernetes.io/hostname": name,
          "kubernetes.io/os": "linux",
          "kubernetes.io/arch": "amd64",
          "node-role.kubernetes.io/agent": "",
          type: "kwok",
        },
      },
      spec: tainted ? { taints: [simulatedNodeTaint] } : {},
      status: {
        allocatable: resources,
        capacity: resources,
        nodeInfo: { architecture: "amd64", operatingSystem: "linux" },
      },
    };
  });
}

export function isReady(node: NodeObject): boolean {
  return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** Creates the simulated nodes and resolves once kwok has made every one Ready. */
export async function createKwokNodes(
  admin: KubeClient,
  pool: NodePoolOptions,
  timeoutMs: number,
  tainted = false,
): Promise<string[]> {
  const manifests = kwokNodeManifests(pool, tainted);
  const names = manifests.map((m) => (m as NodeObject).metadata.name);
  if (names.length === 0) return names;
  const allReady = watchUntil<NodeObject>(
    admin,
    "/api/v1/nodes",
    {
      labelSelector: `${kwokNodeLabel.key}=${kwokNodeLabel.value}`,
      timeoutMs,
      what: `the ${names.length} kwok nodes to become Ready`,
    },
    (nodes) => {
      const ready = new Set(nodes.filter(isReady).map((n) => n.metadata.name));
      return names.every((n) => ready.has(n));
    },
  );
  try {
    await Promise.all(manifests.map((m) => admin.create("/api/v1/nodes", m)));
  } catch (error) {
    allReady.catch(() => {});
    throw error;
  }
  await allReady;
  return names;
}
