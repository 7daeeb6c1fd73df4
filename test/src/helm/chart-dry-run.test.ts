import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  chartDir,
  createRestrictedNamespace,
  fixturesDir,
  helm,
  helmEnv,
  k8sTools,
  kubectl,
  ok,
  parseManifests,
  podSpecOf,
} from "./chart-tools.js";

/**
 * The rendered manifests, validated by the real API server (server-side dry run: schemas,
 * CRD validation, admission) in a namespace that enforces Pod Security `restricted`.
 */
const namespace = `helm-dry-${randomBytes(3).toString("hex")}`;
let env: NodeJS.ProcessEnv;
let dispose: () => Promise<void>;

beforeAll(async () => {
  ({ env, dispose } = await helmEnv(k8sTools().kubeconfig));
  await createRestrictedNamespace(namespace, ["pod-security.kubernetes.io/warn=restricted"]);
});

afterAll(async () => {
  await kubectl(["delete", "namespace", namespace, "--wait=false"]);
  await dispose();
});

describe.each([
  ["default values", [] as string[]],
  ["maximal values", ["-f", join(fixturesDir, "values-maximal.yaml")]],
])("server-side dry run with %s", (_name, args) => {
  it("the API server accepts every rendered object without a Pod Security warning", async () => {
    const rendered = ok(
      await helm(["template", "dry", chartDir, "-n", namespace, ...args], env),
      "helm template",
    );
    const result = await kubectl(
      ["apply", "--dry-run=server", "-n", namespace, "-f", "-"],
      rendered,
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const accepted = result.stdout.split("\n").filter((l) => l.includes("(server dry run)"));
    expect(accepted.length).toBe(parseManifests(rendered).length);
  });

  it("every pod the chart would run is admitted under Pod Security restricted", async () => {
    const manifests = parseManifests(
      ok(await helm(["template", "dry", chartDir, "-n", namespace, ...args], env), "helm template"),
    );
    const workloads = manifests.filter((m) => ["Deployment", "DaemonSet", "Job"].includes(m.kind));
    const pods = workloads.map((w) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: `${w.metadata.name}-probe`.slice(0, 63), namespace },
      // The ServiceAccounts are not created in a dry run; Pod Security does not look at them.
      spec: { ...podSpecOf(w).spec, serviceAccountName: undefined },
    }));
    const result = await kubectl(
      ["create", "--dry-run=server", "-n", namespace, "-f", "-"],
      pods.map((p) => `---\n${stringify(p)}`).join("\n"),
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n").filter((l) => l.includes("(server dry run)")).length).toBe(
      pods.length,
    );
  });

  it("a privileged pod is rejected there (the check can fail)", async () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "privileged", namespace },
      spec: {
        containers: [{ name: "c", image: "busybox", securityContext: { privileged: true } }],
      },
    };
    const result = await kubectl(
      ["create", "--dry-run=server", "-n", namespace, "-f", "-"],
      stringify(pod),
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('violates PodSecurity "restricted:latest"');
  });
});
