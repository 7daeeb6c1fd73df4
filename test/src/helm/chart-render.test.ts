import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  chartDir,
  ensureCrds,
  find,
  fixturesDir,
  helm,
  helmEnv,
  k8sTools,
  type KubeManifest,
  ok,
  parseManifests,
  podSpecOf,
} from "./chart-tools.js";

const maximal = join(fixturesDir, "values-maximal.yaml");
let env: NodeJS.ProcessEnv;
let dispose: () => Promise<void>;

beforeAll(async () => {
  ({ env, dispose } = await helmEnv(k8sTools().kubeconfig));
  await ensureCrds();
});
afterAll(async () => {
  await dispose();
});

async function render(...args: string[]): Promise<KubeManifest[]> {
  const out = ok(
    await helm(["template", "rel", chartDir, "--namespace", "lb", ...args], env),
    `helm template ${args.join(" ")}`,
  );
  return parseManifests(out);
}

async function renderError(...args: string[]): Promise<string> {
  const result = await helm(["template", "rel", chartDir, "--namespace", "lb", ...args], env);
  expect(result.code, "the render should have failed").not.toBe(0);
  return result.stderr;
}

type Container = {
  name: string;
  image: string;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
};

function containersOf(workload: KubeManifest): Container[] {
  const spec = podSpecOf(workload).spec as {
    containers: Container[];
    initContainers?: Container[];
  };
  return [...(spec.initContainers ?? []), ...spec.containers];
}

const workloadKinds = new Set(["Deployment", "DaemonSet", "Job"]);

describe("helm lint", () => {
  it("passes --strict with the default values", async () => {
    const result = await helm(["lint", "--strict", chartDir], env);
    expect(result.stdout + result.stderr).toContain("1 chart(s) linted, 0 chart(s) failed");
    expect(result.code).toBe(0);
  });

  it("passes --strict with every option set", async () => {
    const result = await helm(["lint", "--strict", chartDir, "-f", maximal], env);
    expect(result.stdout + result.stderr).toContain("1 chart(s) linted, 0 chart(s) failed");
    expect(result.code).toBe(0);
  });
});

describe("helm template", () => {
  it("renders the control plane of a workshop with the default values", async () => {
    const manifests = await render();
    const kinds = manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort();
    expect(kinds).toEqual(
      [
        "ClusterRole/lb-rel-launchbay-operator",
        "ClusterRole/lb-rel-launchbay-web",
        "ClusterRoleBinding/lb-rel-launchbay-operator",
        "ClusterRoleBinding/lb-rel-launchbay-web",
        "ConfigMap/rel-launchbay-cleanup",
        "ConfigMap/rel-launchbay-generated-secrets",
        "Job/rel-launchbay-generated-secrets",
        "Role/rel-launchbay-generated-secrets",
        "RoleBinding/rel-launchbay-generated-secrets",
        "ServiceAccount/rel-launchbay-generated-secrets",
        "ValidatingAdmissionPolicy/lb-rel-launchbay-operator",
        "ValidatingAdmissionPolicyBinding/lb-rel-launchbay-operator",
        "ConfigMap/rel-launchbay-operator-config",
        "ConfigMap/rel-launchbay-web-config",
        "Deployment/rel-launchbay-operator",
        "Deployment/rel-launchbay-web",
        "Job/rel-launchbay-cleanup",
        "NetworkPolicy/rel-launchbay-cleanup",
        "NetworkPolicy/rel-launchbay-generated-secrets",
        "NetworkPolicy/rel-launchbay-operator",
        "NetworkPolicy/rel-launchbay-web",
        "PodDisruptionBudget/rel-launchbay-operator",
        "PodDisruptionBudget/rel-launchbay-web",
        "Role/rel-launchbay-cleanup",
        "Role/rel-launchbay-operator",
        "Role/rel-launchbay-web",
        "RoleBinding/rel-launchbay-cleanup",
        "RoleBinding/rel-launchbay-operator",
        "RoleBinding/rel-launchbay-web",
        "Service/rel-launchbay-web",
        "ServiceAccount/rel-launchbay-cleanup",
        "ServiceAccount/rel-launchbay-operator",
        "ServiceAccount/rel-launchbay-web",
        "Workshop/workshop",
      ].sort(),
    );
    for (const m of manifests) {
      if (m.kind.startsWith("Cluster") || m.kind.startsWith("ValidatingAdmission")) continue;
      expect(m.metadata.namespace, `${m.kind}/${m.metadata.name}`).toBe("lb");
    }
  });

  it("renders the ingress with TLS, the access code, the pre-puller and every image override", async () => {
    const manifests = await render("-f", maximal);
    const ingress = find(manifests, "Ingress");
    expect(ingress.spec.ingressClassName).toBe("gce");
    expect(ingress.spec.tls).toEqual([
      { hosts: ["workshop.example.org", "*.sandboxes.example.org"], secretName: "workshop-tls" },
    ]);
    // Each sandbox's own origin goes to the launcher too.
    expect(ingress.spec.rules.map((r: { host: string }) => r.host)).toEqual([
      "workshop.example.org",
      "*.sandboxes.example.org",
    ]);
    expect(find(manifests, "ConfigMap", "-web-config").data).toMatchObject({
      LAUNCHBAY_PUBLIC_HOSTS: "workshop.example.org",
      LAUNCHBAY_SANDBOX_DOMAIN: "sandboxes.example.org",
    });
    expect(ingress.metadata.annotations).toMatchObject({
      "cert-manager.io/cluster-issuer": "letsencrypt",
      "kubernetes.io/ingress.global-static-ip-name": "launchbay",
    });
    const workshop = find(manifests, "Workshop");
    expect(workshop.spec).toMatchObject({
      title: "Parallel Python — PyData 2026",
      idleTimeout: "45m",
      maxSandboxes: 300,
      warmPool: 20,
      sandbox: { workers: 4, threadsPerWorker: 2, internetEgress: true },
      access: { mode: "accessCode", secretName: "rel-lb-access-code", secretKey: "code" },
    });
    // Passed through as written; the CRD's default fills the missing value ("").
    expect(workshop.spec.sandbox.env).toEqual([
      { name: "DATA_URL", value: "https://example.org/data.csv" },
      { name: "EMPTY" },
    ]);
    const accessSecret = find(manifests, "Secret", "access-code");
    expect(Buffer.from(accessSecret.data.code, "base64").toString()).toBe("parallel-2026");
    const web = find(manifests, "Deployment", "-web");
    expect(containersOf(web)[0]?.image).toBe(
      "europe-docker.pkg.dev/p/launchbay/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    );
    const operatorConfig = find(manifests, "ConfigMap", "operator-config");
    expect(operatorConfig.data).toMatchObject({
      LAUNCHBAY_SCHEDULER_IMAGE: "europe-docker.pkg.dev/p/launchbay/scheduler:1.2.3",
      LAUNCHBAY_NOTEBOOK_IMAGE: "europe-docker.pkg.dev/p/launchbay/notebook:1.2.3-tutorial",
      LAUNCHBAY_IMAGE_PULL_POLICY: "Always",
      LAUNCHBAY_HEALTH_PORT: "9100",
    });
    const prePuller = find(manifests, "DaemonSet", "pre-puller");
    expect(containersOf(prePuller).map((c) => c.image)).toEqual([
      "europe-docker.pkg.dev/p/launchbay/scheduler:1.2.3",
      "europe-docker.pkg.dev/p/launchbay/worker:1.2.3",
      "europe-docker.pkg.dev/p/launchbay/notebook:1.2.3-tutorial",
      "europe-docker.pkg.dev/p/launchbay/worker:1.2.3",
    ]);
    const webRole = find(manifests, "Role", "-web");
    expect(webRole.rules).toContainEqual({
      apiGroups: [""],
      resources: ["secrets"],
      resourceNames: ["rel-lb-access-code"],
      verbs: ["get"],
    });
  });

  it.each([
    ["default", [] as string[]],
    ["maximal", ["-f", maximal]],
  ])(
    "bounds every container and meets Pod Security restricted (%s values)",
    async (_name, args) => {
      const manifests = await render(...args);
      const workloads = manifests.filter((m) => workloadKinds.has(m.kind));
      expect(workloads.length).toBeGreaterThanOrEqual(3);
      for (const workload of workloads) {
        const pod = podSpecOf(workload).spec as { securityContext: Record<string, unknown> };
        expect(pod.securityContext, workload.metadata.name).toMatchObject({
          runAsNonRoot: true,
          seccompProfile: { type: "RuntimeDefault" },
        });
        for (const c of containersOf(workload)) {
          const where = `${workload.metadata.name}/${c.name}`;
          expect(c.resources?.requests?.cpu, where).toBeDefined();
          expect(c.resources?.requests?.memory, where).toBeDefined();
          expect(c.resources?.limits?.cpu, where).toBeDefined();
          expect(c.resources?.limits?.memory, where).toBeDefined();
          expect(c.securityContext, where).toMatchObject({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          });
        }
      }
    },
  );

  it("labels the launcher pods as the sandboxes' NetworkPolicies expect", async () => {
    const manifests = await render();
    const web = find(manifests, "Deployment", "-web");
    expect(podSpecOf(web).metadata?.labels).toMatchObject({
      "app.kubernetes.io/component": "launcher",
      "app.kubernetes.io/instance": "rel",
    });
    const config = find(manifests, "ConfigMap", "operator-config");
    expect(config.data.LAUNCHBAY_LAUNCHER_POD_LABELS).toBe(
      "app.kubernetes.io/instance=rel,app.kubernetes.io/component=launcher",
    );
    expect(config.data.LAUNCHBAY_LAUNCHER_NAMESPACE).toBe("lb");
  });

  it.each([
    ["default", [] as string[]],
    ["maximal", ["-f", maximal]],
  ])(
    "renders byte-identical output twice with the same values, no generated value in it (%s values)",
    async (_name, args) => {
      const once = async () =>
        ok(
          await helm(["template", "rel", chartDir, "--namespace", "lb", ...args], env),
          "helm template",
        );
      const first = await once();
      expect(await once()).toBe(first);
      // No Secret with random values is rendered (only the access code the values hold).
      const secrets = parseManifests(first).filter((m) => m.kind === "Secret");
      expect(secrets.map((m) => m.metadata.name)).toEqual(
        args.length ? ["rel-lb-access-code"] : [],
      );
    },
  );

  it("takes every generated secret from an existing Secret when told to: no hook then", async () => {
    const manifests = await render(
      "--set",
      "web.auth.existingSecret=my-web-auth",
      "--set",
      "operator.auth.existingSecret=my-metrics",
    );
    expect(manifests.filter((m) => m.metadata.name.endsWith("generated-secrets"))).toEqual([]);
    const refs = (suffix: string) =>
      (
        podSpecOf(find(manifests, "Deployment", suffix)).spec.containers as {
          env: { valueFrom?: { secretKeyRef?: { name: string } } }[];
        }[]
      )[0]?.env.map((e) => e.valueFrom?.secretKeyRef?.name);
    expect(refs("-web")).toEqual(["my-web-auth", "my-web-auth"]);
    expect(refs("-operator")).toEqual(["my-metrics"]);
    // Only one of them: the hook generates the other, and may read and patch only that one.
    const hook = await render("--set", "web.auth.existingSecret=my-web-auth");
    const role = find(hook, "Role", "-generated-secrets");
    expect(role.rules[1].resourceNames).toEqual(["rel-launchbay-operator-auth"]);
  });

  it("changes the pods' checksum annotations when their configuration changes, and only then", async () => {
    const annotations = async (...args: string[]) => {
      const manifests = await render(...args);
      return {
        web: podSpecOf(find(manifests, "Deployment", "-web")).metadata?.annotations?.[
          "checksum/config"
        ],
        operator: podSpecOf(find(manifests, "Deployment", "-operator")).metadata?.annotations?.[
          "checksum/config"
        ],
      };
    };
    const base = await annotations();
    expect(await annotations()).toEqual(base);
    const webChanged = await annotations("--set", "web.logLevel=debug");
    expect(webChanged.web).not.toBe(base.web);
    expect(webChanged.operator).toBe(base.operator);
    const operatorChanged = await annotations("--set", "images.scheduler.tag=9.9.9");
    expect(operatorChanged.operator).not.toBe(base.operator);
    expect(operatorChanged.web).toBe(base.web);
  });

  it("prints the URL, how to get the organiser token, and warnings for risky settings", async () => {
    // `helm template` skips NOTES.txt; a client-side dry-run install renders it.
    const notes = async (...args: string[]) =>
      ok(
        await helm(["install", "rel", chartDir, "-n", "lb", "--dry-run=client", ...args], env),
        "helm install --dry-run=client",
      );
    const riskyOut = await notes(
      "--set",
      "web.ingress.enabled=true",
      "--set",
      "web.ingress.host=ws.example.org",
      "--set",
      "web.sandboxDomain=sb.example.org",
      "--set",
      "web.ingress.tls.enabled=false",
    );
    const risky = riskyOut.slice(riskyOut.indexOf("NOTES:"));
    expect(risky).toContain("http://ws.example.org/");
    expect(risky).toContain(
      "kubectl get secret rel-launchbay-web-auth -n lb -o jsonpath='{.data.organiser-token}'",
    );
    expect(risky).toMatch(/WARNINGS[\s\S]*TLS is off[\s\S]*Open access/);
    const safe = await notes("-f", maximal);
    const safeNotes = safe.slice(safe.indexOf("NOTES:"));
    expect(safeNotes).toContain("https://workshop.example.org/");
    expect(safeNotes).not.toMatch(/TLS is off|Open access|No sandbox limit/);
    expect(safeNotes).toContain("Sandboxes may reach the public internet");
  });
});

describe("values validation", () => {
  it("rejects a misspelt key and names it", async () => {
    const stderr = await renderError("--set", "workshop.maxSandbox=10");
    expect(stderr).toContain("values don't meet the specifications of the schema");
    expect(stderr).toContain("workshop: Additional property maxSandbox is not allowed");
  });

  it("rejects a misspelt top-level component", async () => {
    const stderr = await renderError("--set", "opertor.replicas=2");
    expect(stderr).toContain("Additional property opertor is not allowed");
  });

  it("rejects a duration that is not one and says what it should look like", async () => {
    const stderr = await renderError("--set", "workshop.lifetime=2hours");
    expect(stderr).toMatch(/workshop\.lifetime: Does not match pattern/);
  });

  it("rejects a reserved sandbox environment variable", async () => {
    const stderr = await renderError("--set", "workshop.sandbox.env[0].name=LAUNCHBAY_TOKEN");
    expect(stderr).toContain("workshop.sandbox.env.0.name");
  });

  it("asks for a host when TLS is on", async () => {
    const stderr = await renderError("--set", "web.ingress.enabled=true");
    expect(stderr).toContain("web.ingress.tls.enabled needs web.ingress.host");
  });

  it("asks for the code when access needs one", async () => {
    const stderr = await renderError("--set", "workshop.access.mode=accessCode");
    expect(stderr).toContain(
      "workshop.access.mode=accessCode needs workshop.access.existingSecret",
    );
  });

  it("refuses a warm pool larger than the sandbox limit", async () => {
    const stderr = await renderError("--set", "workshop.warmPool=60");
    expect(stderr).toContain("workshop.warmPool (60) cannot exceed workshop.maxSandboxes (50)");
  });

  it("rejects a NetworkPolicy peer typo that would open the metrics port to every namespace", async () => {
    // The API server drops the unknown `matchLabel` and stores `{}`: every namespace.
    const stderr = await renderError(
      "--set-json",
      'operator.networkPolicy.metricsFrom=[{"namespaceSelector":{"matchLabel":{"name":"monitoring"}}}]',
    );
    expect(stderr).toContain("Additional property matchLabel is not allowed");
    const empty = await renderError("--set-json", "web.networkPolicy.ingressFrom=[{}]");
    expect(empty).toContain("web.networkPolicy.ingressFrom.0");
    // Control: the correctly spelt peer renders into the NetworkPolicy.
    const objects = await render(
      "--set-json",
      'operator.networkPolicy.metricsFrom=[{"namespaceSelector":{"matchLabels":{"name":"monitoring"}}}]',
    );
    const policy = objects.find(
      (o) => o.kind === "NetworkPolicy" && JSON.stringify(o).includes("monitoring"),
    );
    expect(policy).toBeDefined();
  });

  it("rejects affinity and toleration typos instead of dropping the default anti-affinity", async () => {
    const affinity = await renderError(
      "--set-json",
      'web.affinity={"podAntiAffinty":{"preferredDuringSchedulingIgnoredDuringExecution":[]}}',
    );
    expect(affinity).toContain("Additional property podAntiAffinty is not allowed");
    const toleration = await renderError(
      "--set-json",
      'operator.tolerations=[{"key":"pool","effects":"NoSchedule"}]',
    );
    expect(toleration).toContain("Additional property effects is not allowed");
    const sandbox = await renderError(
      "--set-json",
      'workshop.sandbox.placement={"tolerations":[{"key":"pool","operator":"Exist"}]}',
    );
    expect(sandbox).toContain("workshop.sandbox.placement.tolerations.0.operator");
  });

  it("places sandbox pods: the Workshop's placement and the operator's default", async () => {
    const pool = { "cloud.google.com/gke-nodepool": "workshop" };
    const tolerations = [
      { key: "launchbay.dev/workshop", operator: "Exists", effect: "NoSchedule" },
    ];
    const objects = await render(
      "--set-json",
      `workshop.sandbox.placement=${JSON.stringify({ nodeSelector: pool, tolerations })}`,
      "--set-json",
      `operator.sandboxPlacement=${JSON.stringify({ tolerations, priorityClassName: "workshop" })}`,
    );
    const workshop = objects.find((o) => o.kind === "Workshop") as unknown as {
      spec: { sandbox: { placement: unknown; storage: unknown } };
    };
    expect(workshop.spec.sandbox.placement).toEqual({ nodeSelector: pool, tolerations });
    expect(workshop.spec.sandbox.storage).toEqual({ work: "1Gi", scratch: "512Mi" });
    const config = objects.find(
      (o) => o.kind === "ConfigMap" && JSON.stringify(o).includes("LAUNCHBAY_WATCH_NAMESPACE"),
    ) as unknown as { data: Record<string, string> };
    expect(JSON.parse(config.data.LAUNCHBAY_SANDBOX_TOLERATIONS ?? "null")).toEqual(tolerations);
    expect(config.data.LAUNCHBAY_SANDBOX_PRIORITY_CLASS_NAME).toBe("workshop");
  });

  it("GKE: a BackendConfig keeps WebSockets open an hour and the Service names it, only when enabled", async () => {
    const off = await render();
    expect(off.some((m) => m.kind === "BackendConfig")).toBe(false);
    expect(find(off, "Service", "-web").metadata.annotations ?? {}).not.toHaveProperty(
      "cloud.google.com/backend-config",
    );

    const on = await render(
      "--set",
      "web.backendConfig.enabled=true",
      "--set-json",
      'web.service.annotations={"cloud.google.com/neg":"{\\"ingress\\": true}"}',
    );
    const backendConfig = find(on, "BackendConfig") as unknown as KubeManifest & {
      spec: Record<string, unknown>;
    };
    expect(backendConfig.apiVersion).toBe("cloud.google.com/v1");
    expect(backendConfig.metadata.name).toBe("rel-launchbay-web");
    expect(backendConfig.spec).toEqual({
      timeoutSec: 3600,
      connectionDraining: { drainingTimeoutSec: 60 },
      healthCheck: {
        type: "HTTP",
        requestPath: "/readyz",
        port: 8080,
        checkIntervalSec: 5,
        timeoutSec: 3,
      },
    });
    const service = find(on, "Service", "-web");
    expect(service.metadata.annotations).toEqual({
      "cloud.google.com/backend-config": '{"default":"rel-launchbay-web"}',
      "cloud.google.com/neg": '{"ingress": true}',
    });
    expect(await renderError("--set", "web.backendConfig.timeoutSec=10")).toMatch(/timeoutSec/);
  });

  it("renders the charts README's GKE values as written (a 50-person workshop)", async () => {
    const gke = join(fixturesDir, "values-gke.yaml");
    // The README shows this very file, so what it tells organisers to install renders.
    const readme = readFileSync(join(chartDir, "README.md"), "utf8");
    expect(readme).toContain(readFileSync(gke, "utf8").trim());
    const objects = await render("-f", gke);
    const ingress = find(objects, "Ingress") as unknown as KubeManifest & {
      spec: { tls: { hosts: string[] }[]; rules: { host: string }[] };
    };
    expect(ingress.metadata.annotations).toMatchObject({
      "kubernetes.io/ingress.class": "gce",
      "kubernetes.io/ingress.global-static-ip-name": "launchbay-ip",
      "cert-manager.io/cluster-issuer": "letsencrypt-dns",
    });
    expect(ingress.spec.tls[0]!.hosts).toEqual(["workshop.example.org", "*.sandboxes.example.org"]);
    expect(ingress.spec.rules.map((r) => r.host)).toEqual([
      "workshop.example.org",
      "*.sandboxes.example.org",
    ]);
    expect(objects.some((m) => m.kind === "BackendConfig")).toBe(true);
    const toleration = {
      key: "launchbay.dev/workshop",
      operator: "Equal",
      value: "true",
      effect: "NoSchedule",
    };
    const workshop = find(objects, "Workshop") as unknown as KubeManifest & {
      spec: { maxSandboxes: number; warmPool: number; sandbox: { placement: unknown } };
    };
    expect(workshop.spec.sandbox.placement).toEqual({
      nodeSelector: { "cloud.google.com/gke-nodepool": "workshop" },
      tolerations: [toleration],
    });
    expect([workshop.spec.maxSandboxes, workshop.spec.warmPool]).toEqual([60, 10]);
    const prePuller = podSpecOf(find(objects, "DaemonSet")).spec as {
      nodeSelector: unknown;
      tolerations: unknown[];
    };
    expect(prePuller.nodeSelector).toEqual({ "cloud.google.com/gke-nodepool": "workshop" });
    expect(prePuller.tolerations).toContainEqual(toleration);
  });

  it("refuses a disruption budget that blocks every node drain", async () => {
    const stderr = await renderError("--set", "web.replicas=1");
    expect(stderr).toContain(
      "web.podDisruptionBudget.minAvailable (1) must be below web.replicas (1)",
    );
  });
});
