import { describe, expect, it } from "vitest";
import { LABELS } from "../api/constants.js";
import { workshop } from "./core.test-fixtures.js";
import { desiredObjects, namespaceObject } from "./desired-objects.js";
import { sandboxNamespaceName } from "./names.js";
import { DEFAULT_SANDBOX_DEFAULTS } from "./operator-config.js";

const ref = { namespace: "events", name: "alice", workshop: "pydata" };
const objects = desiredObjects({
  ref,
  namespace: "sbx-alice-1",
  template: workshop().spec.sandbox,
  defaults: DEFAULT_SANDBOX_DEFAULTS,
});
const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
// biome-ignore lint/suspicious/noExplicitAny: test reads deep into plain objects
const podSpecs = byKind("Deployment").map((d: any) => d.spec.template.spec);

describe("desired objects", () => {
  it("labels the namespace for Pod Security restricted", () => {
    const ns = namespaceObject(ref, "sbx-alice-1");
    expect(ns.metadata.labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "restricted",
      [LABELS.sandbox]: "alice",
      [LABELS.sandboxNamespace]: "events",
    });
  });

  it("creates scheduler, workers and notebook with the workshop's worker count", () => {
    const deployments = byKind("Deployment") as {
      metadata: { name: string };
      spec: { replicas: number };
    }[];
    expect(deployments.map((d) => [d.metadata.name, d.spec.replicas])).toEqual([
      ["scheduler", 1],
      ["workers", 3],
      ["notebook", 1],
    ]);
    expect(byKind("Service").map((s) => s.metadata.name)).toEqual([
      "scheduler",
      "workers",
      "notebook",
    ]);
  });

  it("gives every container a readiness probe, limits and a restricted security context", () => {
    for (const spec of podSpecs) {
      expect(spec.automountServiceAccountToken).toBe(false);
      expect(spec.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: "RuntimeDefault" },
      });
      for (const c of spec.containers) {
        expect(c.readinessProbe).toBeDefined();
        expect(c.resources.limits).toEqual(c.resources.requests);
        expect(c.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
        });
      }
    }
  });

  it("derives the worker's memory limit and threads from its resources", () => {
    const worker = podSpecs[1].containers[0];
    const env = Object.fromEntries(
      worker.env
        .filter((e: { value?: string }) => e.value)
        .map((e: { name: string; value: string }) => [e.name, e.value]),
    );
    expect(env).toMatchObject({
      LAUNCHBAY_MEMORY_LIMIT: "2048MiB",
      LAUNCHBAY_NTHREADS: "1",
      LAUNCHBAY_WORKER_PORT: "8789",
    });
  });

  it("sizes the quota to exactly the template's pods", () => {
    // biome-ignore lint/suspicious/noExplicitAny: test reads deep into plain objects
    const quota = byKind("ResourceQuota")[0] as any;
    // 500m + 500m + 3 × 1 CPU; 512Mi + 1Gi + 3 × 2Gi
    expect(quota.spec.hard).toMatchObject({
      pods: "5",
      "limits.cpu": "4",
      "limits.memory": "7680Mi",
    });
  });

  it("denies by default and admits the launcher only to notebook and scheduler", () => {
    const names = byKind("NetworkPolicy").map((p) => p.metadata.name);
    expect(names).toEqual([
      "default-deny",
      "allow-same-namespace",
      "allow-dns",
      "allow-launcher",
      "allow-operator-probe",
    ]);
    const withEgress = desiredObjects({
      ref,
      namespace: "n",
      template: workshop({ sandbox: { internetEgress: true } }).spec.sandbox,
      defaults: DEFAULT_SANDBOX_DEFAULTS,
    });
    const internet = withEgress.find((o) => o.metadata.name === "allow-internet-egress") as
      // biome-ignore lint/suspicious/noExplicitAny: test reads deep into plain objects
      any;
    expect(internet.spec.egress[0].to[0].ipBlock.except).toContain("169.254.0.0/16");
  });

  it("is deterministic, so reconciling twice applies nothing new", () => {
    const again = desiredObjects({
      ref,
      namespace: "sbx-alice-1",
      template: workshop().spec.sandbox,
      defaults: DEFAULT_SANDBOX_DEFAULTS,
    });
    expect(again).toEqual(objects);
  });

  it("names namespaces within 63 characters and distinct per uid", () => {
    const long = sandboxNamespaceName({ namespace: "e", name: "x".repeat(200), uid: "1" });
    expect(long.length).toBeLessThanOrEqual(63);
    expect(sandboxNamespaceName({ namespace: "e", name: "a", uid: "1" })).not.toBe(
      sandboxNamespaceName({ namespace: "e", name: "a", uid: "2" }),
    );
  });
});

describe("limit range", () => {
  it("keeps container defaults within the maxima for tiny templates", () => {
    const tiny = workshop({
      sandbox: {
        workers: 1,
        resources: {
          scheduler: { cpu: "50m", memory: "64Mi" },
          worker: { cpu: "50m", memory: "64Mi" },
          notebook: { cpu: "50m", memory: "64Mi" },
        },
      },
    });
    const limitRange = desiredObjects({
      ref,
      namespace: "n",
      template: tiny.spec.sandbox,
      defaults: DEFAULT_SANDBOX_DEFAULTS,
    }).find(
      (o) => o.kind === "LimitRange",
      // biome-ignore lint/suspicious/noExplicitAny: test reads deep into plain objects
    ) as any;
    expect(limitRange.spec.limits[0]).toMatchObject({
      default: { cpu: "50m", memory: "64Mi" },
      max: { cpu: "50m", memory: "64Mi" },
    });
  });
});
