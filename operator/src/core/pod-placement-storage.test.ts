import { describe, expect, it } from "vitest";
import { parseMemoryBytes } from "../api/quantity.js";
import { workshopSpecSchema } from "../api/workshop.js";
import { workshop } from "./core.test-fixtures.js";
import { desiredObjects } from "./desired-objects.js";
import { DEFAULT_SANDBOX_DEFAULTS, type SandboxDefaults } from "./operator-config.js";

// biome-ignore lint/suspicious/noExplicitAny: tests read deep into plain objects
type Any = any;
const ref = { namespace: "events", name: "alice", workshop: "pydata" };

function objectsFor(
  spec: Record<string, unknown> = {},
  defaults: SandboxDefaults = DEFAULT_SANDBOX_DEFAULTS,
) {
  const objects = desiredObjects({
    ref,
    namespace: "sbx-alice-1",
    template: workshop(spec).spec.sandbox,
    defaults,
  }) as Any[];
  const podSpecs = objects.filter((o) => o.kind === "Deployment").map((d) => d.spec.template.spec);
  const quota = objects.find((o) => o.kind === "ResourceQuota");
  return { objects, podSpecs, quota };
}

const workshopPool = {
  nodeSelector: { "cloud.google.com/gke-nodepool": "workshop" },
  tolerations: [{ key: "launchbay.dev/workshop", operator: "Exists", effect: "NoSchedule" }],
};

describe("sandbox pod placement", () => {
  it("puts every sandbox pod on the Workshop's node pool", () => {
    const { podSpecs } = objectsFor({ sandbox: { placement: workshopPool } });
    expect(podSpecs).toHaveLength(3);
    for (const spec of podSpecs) {
      expect(spec.nodeSelector).toEqual(workshopPool.nodeSelector);
      expect(spec.tolerations).toEqual(workshopPool.tolerations);
    }
  });

  it("uses the operator's default placement, each field replaced by the Workshop's", () => {
    const defaults: SandboxDefaults = {
      ...DEFAULT_SANDBOX_DEFAULTS,
      placement: { ...workshopPool, priorityClassName: "workshop-sandbox" },
    };
    const none = objectsFor({}, defaults).podSpecs[0];
    expect(none).toMatchObject({ ...workshopPool, priorityClassName: "workshop-sandbox" });
    const own = objectsFor({ sandbox: { placement: { nodeSelector: { pool: "big" } } } }, defaults)
      .podSpecs[0];
    expect(own.nodeSelector).toEqual({ pool: "big" });
    expect(own.tolerations).toEqual(workshopPool.tolerations);
  });

  it("places nothing when neither says where (the cluster's scheduler decides)", () => {
    for (const spec of objectsFor().podSpecs) {
      expect(spec.nodeSelector).toBeUndefined();
      expect(spec.tolerations).toBeUndefined();
      expect(spec.affinity).toBeUndefined();
    }
  });

  it("refuses a typo in affinity or tolerations instead of dropping it", () => {
    const typo = workshopSpecSchema.safeParse({
      title: "t",
      sandbox: {
        placement: {
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchExpression: [] }],
              },
            },
          },
        },
      },
    });
    expect(typo.success).toBe(false);
    expect(JSON.stringify(typo.error?.issues)).toContain("matchExpression");
    const effects = workshopSpecSchema.safeParse({
      title: "t",
      sandbox: { placement: { tolerations: [{ key: "k", effects: "NoSchedule" }] } },
    });
    expect(effects.success).toBe(false);
    // Control: the correctly spelled objects are accepted.
    const good = workshopSpecSchema.safeParse({
      title: "t",
      sandbox: {
        placement: {
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchExpressions: [{ key: "k", operator: "Exists" }] }],
              },
            },
          },
          tolerations: [{ key: "k", effect: "NoSchedule" }],
        },
      },
    });
    expect(good.success).toBe(true);
  });
});

describe("sandbox disk", () => {
  it("gives every container (init containers too) a read-only root filesystem", () => {
    for (const spec of objectsFor().podSpecs) {
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        expect(c.securityContext.readOnlyRootFilesystem, c.name).toBe(true);
      }
    }
  });

  it("bounds every writable volume and every container's ephemeral storage", () => {
    const { podSpecs } = objectsFor({ sandbox: { storage: { work: "2Gi", scratch: "256Mi" } } });
    for (const spec of podSpecs) {
      for (const v of spec.volumes) expect(v.emptyDir?.sizeLimit, v.name).toMatch(/i$/);
      const sizes = Object.fromEntries(
        spec.volumes.map((v: Any) => [v.name, v.emptyDir.sizeLimit]),
      );
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        const storage = c.resources.limits["ephemeral-storage"];
        expect(storage, c.name).toBeDefined();
        expect(c.resources.requests["ephemeral-storage"]).toBe(storage);
        // The limit covers what the container can write to its volumes.
        const writable = c.volumeMounts
          .filter(() => c.name !== "seed-work")
          .reduce((sum: number, m: Any) => sum + (parseMemoryBytes(sizes[m.name]) ?? 0), 0);
        expect(parseMemoryBytes(storage), c.name).toBeGreaterThanOrEqual(writable);
      }
    }
    const notebook = podSpecs[2];
    expect(notebook.volumes.find((v: Any) => v.name === "work").emptyDir.sizeLimit).toBe("2Gi");
  });

  it("seeds the notebook's work folder from the image and mounts it over the tutorials", () => {
    const notebook = objectsFor().podSpecs[2];
    const [seed] = notebook.initContainers;
    expect(seed.command).toEqual(["cp", "-R", "/app/notebooks/.", "/seed/"]);
    expect(seed.image).toBe(notebook.containers[0].image);
    expect(notebook.containers[0].volumeMounts).toContainEqual({
      name: "work",
      mountPath: "/app/notebooks",
    });
  });

  it("puts the sandbox's ephemeral storage in its quota: the sum of its containers' limits", () => {
    const { podSpecs, quota } = objectsFor();
    const total = podSpecs.reduce((sum: number, spec: Any, i: number) => {
      const replicas = i === 1 ? 3 : 1;
      const perPod = spec.containers.reduce(
        (s: number, c: Any) => s + (parseMemoryBytes(c.resources.limits["ephemeral-storage"]) ?? 0),
        0,
      );
      return sum + perPod * replicas;
    }, 0);
    expect(parseMemoryBytes(quota.spec.hard["limits.ephemeral-storage"])).toBe(total);
    expect(quota.spec.hard["requests.ephemeral-storage"]).toBe(
      quota.spec.hard["limits.ephemeral-storage"],
    );
  });
});

describe("probes", () => {
  it("gives every container a liveness probe that differs from its readiness probe", () => {
    for (const spec of objectsFor().podSpecs) {
      for (const c of spec.containers) {
        expect(c.livenessProbe, c.name).toBeDefined();
        expect(c.livenessProbe, c.name).not.toEqual(c.readinessProbe);
        // Liveness gives a slow process at least a minute before a restart.
        expect(
          c.livenessProbe.periodSeconds * c.livenessProbe.failureThreshold,
        ).toBeGreaterThanOrEqual(60);
      }
    }
  });
});
