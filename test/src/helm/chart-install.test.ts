import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  chartDir,
  createRestrictedNamespace,
  helm,
  helmEnv,
  k8sTools,
  kubectl,
  ok,
  parseManifests,
  run,
} from "./chart-tools.js";
import {
  containerEnv,
  serviceAccountKubeconfig,
  type StartedProcess,
  startNode,
} from "./service-account-process.js";

/**
 * `helm install` into the real control plane (kwok nodes): the chart's objects are accepted
 * in a namespace that enforces Pod Security `restricted`, its pods go Ready, and the operator
 * and launcher, run out of cluster with exactly the env their Deployments get and the tokens
 * of the chart's own ServiceAccounts, launch a sandbox to Ready. Then upgrade and uninstall.
 */
const release = "lbt";
const namespace = `helm-${randomBytes(3).toString("hex")}`;
const operatorName = `${release}-launchbay-operator`;
const webName = `${release}-launchbay-web`;
/** The chart's default Workshop name (values.yaml `workshop.name`). */
const WORKSHOP = "workshop";
let env: NodeJS.ProcessEnv;
let disposeHelm: () => Promise<void>;
let dir: string;
const processes: StartedProcess[] = [];
let launcherUrl: string;
let sandboxId: string;
let sandboxNamespace: string;
let installed = false;
let operatorProcess: StartedProcess;

const getJson = async <T>(...args: string[]): Promise<T> =>
  JSON.parse(ok(await kubectl([...args, "-o", "json"]), `kubectl ${args.join(" ")}`)) as T;

async function organiserToken(): Promise<string> {
  const secret = await getJson<{ data: Record<string, string> }>(
    "get",
    "secret",
    `${webName}-auth`,
    "-n",
    namespace,
  );
  return Buffer.from(secret.data["organiser-token"] ?? "", "base64").toString();
}

async function startOperator(): Promise<StartedProcess> {
  const kubeconfig = await serviceAccountKubeconfig(dir, namespace, operatorName);
  const podEnv = await containerEnv(namespace, operatorName);
  // Out of cluster: the health server on a free loopback port instead of 0.0.0.0:9090.
  const operator = startNode("operator/bin/launchbay-operator.js", {
    ...podEnv,
    KUBECONFIG: kubeconfig.path,
    LAUNCHBAY_HEALTH_HOST: "127.0.0.1",
    LAUNCHBAY_HEALTH_PORT: "0",
  });
  processes.push(operator);
  await operator.waitForLog((l) => l.msg === "Became leader", "the operator to lead");
  return operator;
}

async function startLauncher(): Promise<string> {
  const kubeconfig = await serviceAccountKubeconfig(dir, namespace, webName);
  const podEnv = await containerEnv(namespace, webName);
  const launcher = startNode("web/dist/main.js", {
    ...podEnv,
    LAUNCHBAY_KUBECONFIG: kubeconfig.path,
    HOST: "127.0.0.1",
    PORT: "0",
  });
  processes.push(launcher);
  const line = await launcher.waitForLog(
    (l) => l.msg === "Launcher listening",
    "the launcher to listen",
  );
  return String(line.address);
}

/**
 * kwok completes Job pods without running them, so the generated-secrets hook's script runs
 * here, out of cluster, with the identity and the env its Job has: the hook's
 * ServiceAccount, Role and RoleBinding (rendered by the chart, applied for the run, removed
 * after, as Helm's hook-delete-policy does), and the Job's LAUNCHBAY_SECRETS.
 */
async function runGeneratedSecretsHook(): Promise<{
  code: number;
  stdout: string;
  stderr: string;
}> {
  const hook = parseManifests(
    ok(
      await helm(
        [
          "template",
          release,
          chartDir,
          "-n",
          namespace,
          "--show-only",
          "templates/generated-secrets/hook.yaml",
        ],
        env,
      ),
      "helm template the generated-secrets hook",
    ),
  );
  const identity = hook.filter((m) => ["ServiceAccount", "Role", "RoleBinding"].includes(m.kind));
  const yaml = identity.map((m) => `---\n${stringify(m)}`).join("\n");
  ok(await kubectl(["apply", "-n", namespace, "-f", "-"], yaml), "apply the hook's identity");
  try {
    const sa = identity.find((m) => m.kind === "ServiceAccount")?.metadata.name ?? "";
    const job = hook.find((m) => m.kind === "Job");
    const jobEnv = (job?.spec.template.spec.containers[0].env ?? []) as {
      name: string;
      value: string;
    }[];
    const secrets = jobEnv.find((e) => e.name === "LAUNCHBAY_SECRETS")?.value;
    const credentials = await serviceAccountKubeconfig(dir, namespace, sa);
    return await run(process.execPath, [join(chartDir, "files", "ensure-secrets.mjs")], {
      env: {
        PATH: process.env.PATH,
        LAUNCHBAY_NAMESPACE: namespace,
        LAUNCHBAY_SECRETS: secrets ?? "",
        LAUNCHBAY_API_SERVER: credentials.server,
        LAUNCHBAY_API_TOKEN: credentials.token,
        LAUNCHBAY_API_CA_FILE: credentials.caFile,
      },
    });
  } finally {
    await kubectl(["delete", "-n", namespace, "--wait=false", "-f", "-"], yaml);
  }
}

beforeAll(async () => {
  ({ env, dispose: disposeHelm } = await helmEnv(k8sTools().kubeconfig));
  dir = await mkdtemp(join(tmpdir(), "launchbay-helm-install-"));
  await createRestrictedNamespace(namespace);
});

afterAll(async () => {
  for (const p of processes.reverse()) await p.stop();
  if (installed) await helm(["uninstall", release, "-n", namespace, "--no-hooks", "--wait"], env);
  await kubectl(["delete", "sandboxes", "--all", "-n", namespace, "--wait=false"]);
  await kubectl(["delete", "namespace", namespace, "--wait=false"]);
  await disposeHelm();
  await rm(dir, { recursive: true, force: true });
});

describe.sequential("helm install on a real control plane", () => {
  it("refuses values typos in NetworkPolicy peers, affinity and tolerations; nothing is installed", async () => {
    const typos: [string, string][] = [
      [
        'operator.networkPolicy.metricsFrom=[{"namespaceSelector":{"matchLabel":{"name":"monitoring"}}}]',
        "Additional property matchLabel is not allowed",
      ],
      [
        'web.affinity={"podAntiAffinty":{"preferredDuringSchedulingIgnoredDuringExecution":[]}}',
        "Additional property podAntiAffinty is not allowed",
      ],
      [
        'operator.tolerations=[{"key":"pool","effects":"NoSchedule"}]',
        "Additional property effects is not allowed",
      ],
      [
        'workshop.sandbox.placement={"tolerations":[{"key":"pool","operator":"Exist"}]}',
        "workshop.sandbox.placement.tolerations.0.operator",
      ],
    ];
    for (const [value, message] of typos) {
      const result = await helm(
        ["install", release, chartDir, "-n", namespace, "--set-json", value],
        env,
      );
      expect(result.code, value).not.toBe(0);
      expect(result.stderr, value).toContain(message);
    }
    const releases = ok(await helm(["list", "-n", namespace, "-a", "-q"], env), "helm list");
    expect(releases.trim()).toBe("");
  });

  it("installs: every object is accepted and every pod goes Ready", async () => {
    const result = await helm(
      ["install", release, chartDir, "-n", namespace, "--wait", "--timeout", "120s"],
      env,
    );
    expect(result.stderr).not.toMatch(/would violate PodSecurity/);
    ok(result, "helm install");
    installed = true;
    expect(result.stdout).toContain("STATUS: deployed");
    for (const name of [operatorName, webName]) {
      const d = await getJson<{ spec: { replicas: number }; status: { readyReplicas?: number } }>(
        "get",
        "deployment",
        name,
        "-n",
        namespace,
      );
      expect(d.status.readyReplicas, name).toBe(d.spec.replicas);
    }
    const pods = await getJson<{
      items: { status: { conditions?: { type: string; status: string }[] } }[];
    }>("get", "pods", "-n", namespace, "-l", `app.kubernetes.io/instance=${release}`);
    expect(pods.items.length).toBe(4);
    for (const pod of pods.items) {
      expect(pod.status.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    }
    const pdbs = await getJson<{ items: unknown[] }>("get", "pdb", "-n", namespace);
    expect(pdbs.items.length).toBe(2);
  });

  it("generates the organiser token, cookie secret and metrics token once, and never again", async () => {
    const first = await runGeneratedSecretsHook();
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`Created Secret ${webName}-auth`);
    expect(first.stdout).toContain(`Created Secret ${operatorName}-auth`);
    const read = async (name: string) =>
      (await getJson<{ data: Record<string, string> }>("get", "secret", name, "-n", namespace))
        .data;
    const web = await read(`${webName}-auth`);
    const operator = await read(`${operatorName}-auth`);
    expect(Buffer.from(web["organiser-token"] ?? "", "base64").toString()).toMatch(
      /^[A-Za-z0-9]{32}$/,
    );
    expect(Buffer.from(web["cookie-secret"] ?? "", "base64").toString()).toMatch(
      /^[A-Za-z0-9]{48}$/,
    );
    expect(Buffer.from(operator["metrics-token"] ?? "", "base64").toString()).toMatch(
      /^[A-Za-z0-9]{32}$/,
    );
    // A second sync (Argo CD runs the hook on every one) keeps every value.
    const second = await runGeneratedSecretsHook();
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`Secret ${webName}-auth is there; kept as it is`);
    expect(await read(`${webName}-auth`)).toEqual(web);
    expect(await read(`${operatorName}-auth`)).toEqual(operator);
  });

  it("grants the operator and the launcher what they use, not more", async () => {
    const can = async (sa: string, ...args: string[]) => {
      const r = await kubectl([
        "auth",
        "can-i",
        ...args,
        `--as=system:serviceaccount:${namespace}:${sa}`,
      ]);
      return r.stdout.trim() === "yes";
    };
    // The launcher: its Sandboxes and Workshop, sandbox-tokens by name; nothing cluster-wide.
    expect(await can(webName, "create", "sandboxes.launchbay.dev", "-n", namespace)).toBe(true);
    expect(await can(webName, "get", "workshops.launchbay.dev/workshop", "-n", namespace)).toBe(
      true,
    );
    expect(await can(webName, "get", "secrets/sandbox-tokens", "-n", "sbx-any")).toBe(true);
    expect(await can(webName, "list", "secrets", "-n", namespace)).toBe(false);
    expect(await can(webName, "get", "secrets/other", "-n", "kube-system")).toBe(false);
    expect(await can(webName, "create", "sandboxes.launchbay.dev", "-n", "default")).toBe(false);
    expect(
      await can(
        webName,
        "update",
        "sandboxes.launchbay.dev",
        "--subresource=status",
        "-n",
        namespace,
      ),
    ).toBe(false);
    expect(await can(webName, "create", "pods", "-n", namespace)).toBe(false);
    // Organiser sessions and used handover tokens: Leases in its own namespace only.
    expect(await can(webName, "create", "leases.coordination.k8s.io", "-n", namespace)).toBe(true);
    expect(await can(webName, "delete", "leases.coordination.k8s.io", "-n", namespace)).toBe(true);
    // The seats of its workshop: one Lease it may patch (with the resourceVersion read).
    expect(await can(webName, "patch", "leases.coordination.k8s.io", "-n", namespace)).toBe(false);
    expect(
      await can(
        webName,
        "patch",
        `leases.coordination.k8s.io/launchbay-seats-${WORKSHOP}`,
        "-n",
        namespace,
      ),
    ).toBe(true);
    expect(await can(webName, "watch", "leases.coordination.k8s.io", "-n", namespace)).toBe(true);
    expect(await can(webName, "create", "leases.coordination.k8s.io", "-n", "default")).toBe(false);
    expect(await can(webName, "update", "leases.coordination.k8s.io", "-n", namespace)).toBe(false);
    // The operator: sandbox namespaces and their contents; no RBAC, no pod writes, no exec.
    expect(await can(operatorName, "create", "namespaces")).toBe(true);
    expect(await can(operatorName, "patch", "deployments.apps", "-n", "sbx-any")).toBe(true);
    expect(
      await can(
        operatorName,
        "patch",
        "sandboxes.launchbay.dev",
        "--subresource=status",
        "-n",
        namespace,
      ),
    ).toBe(true);
    expect(
      await can(operatorName, "create", "roles.rbac.authorization.k8s.io", "-n", "sbx-any"),
    ).toBe(false);
    expect(await can(operatorName, "create", "clusterrolebindings")).toBe(false);
    expect(await can(operatorName, "create", "pods", "-n", "sbx-any")).toBe(false);
    expect(await can(operatorName, "create", "pods/exec", "-n", "sbx-any")).toBe(false);
    expect(await can(operatorName, "patch", "sandboxes.launchbay.dev", "-n", "default")).toBe(
      false,
    );
    expect(
      await can(operatorName, "update", "leases.coordination.k8s.io/other", "-n", namespace),
    ).toBe(false);
    // Secrets: by name only, never listed or watched anywhere.
    expect(await can(operatorName, "get", "secrets/sandbox-tokens", "-n", "sbx-any")).toBe(true);
    expect(await can(operatorName, "get", "secrets/other", "-n", "kube-system")).toBe(false);
    // The archive URLs Secret: patch (server-side apply) by name, nothing else.
    expect(await can(operatorName, "patch", "secrets/sandbox-archive", "-n", "sbx-any")).toBe(true);
    expect(await can(operatorName, "patch", "secrets/other", "-n", "sbx-any")).toBe(false);
    expect(await can(operatorName, "list", "secrets", "--all-namespaces")).toBe(false);
    expect(await can(operatorName, "watch", "secrets", "--all-namespaces")).toBe(false);
    expect(await can(operatorName, "list", "secrets", "-n", "sbx-any")).toBe(false);
  });

  it("runs the operator and the launcher with the chart's ServiceAccounts; a launch reaches Ready", async () => {
    operatorProcess = await startOperator();
    launcherUrl = await startLauncher();
    const launched = await fetch(`${launcherUrl}/api/sandboxes`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    const body = (await launched.json()) as { id: string };
    expect(launched.status, JSON.stringify(body)).toBe(201);
    sandboxId = body.id;
    const cookie = launched.headers.get("set-cookie")?.split(";")[0] ?? "";
    ok(
      await kubectl([
        "wait",
        `sandbox/${sandboxId}`,
        "-n",
        namespace,
        "--for=jsonpath={.status.phase}=Ready",
        "--timeout=90s",
      ]),
      "the launched Sandbox to be Ready",
    );
    const sandbox = await getJson<{ status: { namespace: string } }>(
      "get",
      "sandbox",
      sandboxId,
      "-n",
      namespace,
    );
    sandboxNamespace = sandbox.status.namespace;
    const sandboxNs = await getJson<{ metadata: { labels: Record<string, string> } }>(
      "get",
      "namespace",
      sandbox.status.namespace,
    );
    expect(sandboxNs.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    // The launcher sees it Ready too (through its watch, with its own credentials).
    await expect
      .poll(
        async () => {
          const r = await fetch(`${launcherUrl}/api/sandboxes/${sandboxId}`, {
            headers: { cookie },
          });
          return ((await r.json()) as { phase?: string }).phase;
        },
        { timeout: 30_000, interval: 250 },
      )
      .toBe("Ready");
  });

  it("refuses the operator's ServiceAccount writes outside its sandbox namespaces (admission policy)", async () => {
    // Raw API calls with the operator's token (kubectl would first GET, which RBAC refuses).
    const operator = await serviceAccountKubeconfig(dir, namespace, operatorName);
    const ca = await readFile(operator.caFile);
    const asOperator = (method: string, path: string, body?: unknown, type = "application/json") =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const url = new URL(path, operator.server);
        const req = httpsRequest(
          url,
          {
            method,
            ca,
            headers: {
              authorization: `Bearer ${operator.token}`,
              ...(body === undefined ? {} : { "content-type": type }),
            },
          },
          (res) => {
            let text = "";
            res.on("data", (chunk) => {
              text += chunk;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        req.on("error", reject);
        req.end(body === undefined ? undefined : JSON.stringify(body));
      });
    const deployment = (ns: string) => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "intruder", namespace: ns },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: "intruder" } },
        template: {
          metadata: { labels: { app: "intruder" } },
          spec: { containers: [{ name: "c", image: "busybox" }] },
        },
      },
    });
    const refusedByPolicy = (answer: { status: number; text: string }, what: string) => {
      expect(answer.status, `${what}: ${answer.text}`).toBe(403);
      expect(answer.text, what).toContain("ValidatingAdmissionPolicy");
      expect(answer.text, what).toContain("may only write its sandbox namespaces");
    };
    // Attack: a Deployment in kube-system (it could run a pod as any ServiceAccount there).
    const kubeSystem = await asOperator(
      "POST",
      "/apis/apps/v1/namespaces/kube-system/deployments",
      deployment("kube-system"),
    );
    await kubectl(["delete", "deployment", "intruder", "-n", "kube-system", "--ignore-not-found"]);
    refusedByPolicy(kubeSystem, "a Deployment in kube-system");
    // Attack: delete a namespace that is not one of its sandbox namespaces.
    const victim = `victim-${randomBytes(3).toString("hex")}`;
    ok(await kubectl(["create", "namespace", victim]), "create a namespace to attack");
    try {
      refusedByPolicy(
        await asOperator("DELETE", `/api/v1/namespaces/${victim}`),
        "deleting a namespace",
      );
      const left = await getJson<{ metadata: { deletionTimestamp?: string } }>(
        "get",
        "namespace",
        victim,
      );
      expect(left.metadata.deletionTimestamp).toBeUndefined();
      // Labelling it as its own first is refused too (only namespaces it created carry the label).
      refusedByPolicy(
        await asOperator(
          "PATCH",
          `/api/v1/namespaces/${victim}`,
          {
            metadata: {
              labels: {
                "launchbay.dev/sandbox-namespace": namespace,
                "app.kubernetes.io/managed-by": "launchbay-operator",
                "pod-security.kubernetes.io/enforce": "restricted",
              },
            },
          },
          "application/merge-patch+json",
        ),
        "relabelling a namespace",
      );
    } finally {
      await kubectl(["delete", "namespace", victim, "--wait=false"]);
    }
    // `default` (dry run): refused; the API server's NamespaceLifecycle answers before the policy.
    const deleteDefault = await asOperator("DELETE", "/api/v1/namespaces/default?dryRun=All");
    expect(deleteDefault.status, deleteDefault.text).toBe(403);
    // Control: the same identity may create a Deployment in its sandbox namespace (its RBAC
    // has no Deployment delete: the namespace goes as a whole), so the policy lets it through.
    const created = await asOperator(
      "POST",
      `/apis/apps/v1/namespaces/${sandboxNamespace}/deployments`,
      deployment(sandboxNamespace),
    );
    await kubectl([
      "delete",
      "deployment",
      "intruder",
      "-n",
      sandboxNamespace,
      "--ignore-not-found",
    ]);
    expect(created.status, created.text).toBe(201);
    // Secrets in a sandbox namespace: only its own two names. Attack: another name (e.g. to
    // plant credentials a pod could mount) is refused; control: the archive URLs Secret by
    // server-side apply, as the operator writes it.
    const secret = (name: string) => ({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace: sandboxNamespace },
      stringData: { "put-url": "https://storage.example/x" },
    });
    const apply = (name: string) =>
      asOperator(
        "PATCH",
        `/api/v1/namespaces/${sandboxNamespace}/secrets/${name}?fieldManager=launchbay-operator&force=true`,
        secret(name),
        "application/apply-patch+yaml",
      );
    // (RBAC lets it create any Secret: the policy is what refuses this one.)
    refusedByPolicy(
      await asOperator("POST", `/api/v1/namespaces/${sandboxNamespace}/secrets`, secret("planted")),
      "a Secret of another name",
    );
    const archive = await apply("sandbox-archive");
    await kubectl([
      "delete",
      "secret",
      "sandbox-archive",
      "-n",
      sandboxNamespace,
      "--ignore-not-found",
    ]);
    expect(archive.status, archive.text).toBe(201);
  });

  it("deletes a sandbox with the chart's operator ServiceAccount: no 403, its namespace goes", async () => {
    // A second sandbox, so the launcher's one stays for the tests below.
    const name = `del-${randomBytes(3).toString("hex")}`;
    const workshop = await getJson<{ items: { metadata: { name: string } }[] }>(
      "get",
      "workshops",
      "-n",
      namespace,
    );
    const manifest = JSON.stringify({
      apiVersion: "launchbay.dev/v1alpha1",
      kind: "Sandbox",
      metadata: { name, namespace },
      spec: {
        workshop: workshop.items[0]?.metadata.name,
        owner: "deletion-test",
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
    });
    ok(await kubectl(["apply", "-f", "-"], manifest), "create a Sandbox");
    ok(
      await kubectl([
        "wait",
        `sandbox/${name}`,
        "-n",
        namespace,
        "--for=jsonpath={.status.phase}=Ready",
        "--timeout=90s",
      ]),
      "the Sandbox to be Ready",
    );
    const { status } = await getJson<{ status: { namespace: string } }>(
      "get",
      "sandbox",
      name,
      "-n",
      namespace,
    );
    const linesBefore = operatorProcess.output.length;
    ok(await kubectl(["delete", "sandbox", name, "-n", namespace, "--timeout=90s"]), "delete it");
    ok(
      await kubectl(["wait", `namespace/${status.namespace}`, "--for=delete", "--timeout=90s"]),
      "its namespace to go",
    );
    const failures = operatorProcess.output
      .slice(linesBefore)
      .filter((l) => /forbidden|Reconcile failed| 403 /i.test(l));
    expect(failures).toEqual([]);
  });

  it("upgrades with changed values: rolls the pods and keeps the organiser token", async () => {
    const tokenBefore = await organiserToken();
    const templateHash = async (name: string) =>
      (
        await getJson<{
          spec: { template: { metadata: { annotations: Record<string, string> } } };
        }>("get", "deployment", name, "-n", namespace)
      ).spec.template.metadata.annotations["checksum/config"];
    const before = { web: await templateHash(webName), operator: await templateHash(operatorName) };
    ok(
      await helm(
        [
          "upgrade",
          release,
          chartDir,
          "-n",
          namespace,
          "--reuse-values",
          "--set",
          "web.logLevel=debug",
          "--set",
          "operator.logLevel=debug",
          "--wait",
          "--timeout",
          "120s",
        ],
        env,
      ),
      "helm upgrade",
    );
    expect(await organiserToken()).toBe(tokenBefore);
    expect(await templateHash(webName)).not.toBe(before.web);
    expect(await templateHash(operatorName)).not.toBe(before.operator);
    for (const name of [operatorName, webName]) {
      const d = await getJson<{
        metadata: { generation: number };
        spec: { replicas: number };
        status: { observedGeneration: number; updatedReplicas?: number; readyReplicas?: number };
      }>("get", "deployment", name, "-n", namespace);
      expect(d.metadata.generation, name).toBe(2);
      expect(d.status.observedGeneration, name).toBe(2);
      expect(d.status.updatedReplicas, name).toBe(d.spec.replicas);
      expect(d.status.readyReplicas, name).toBe(d.spec.replicas);
    }
  });

  it("uninstalls: the pre-delete hook's script removes every sandbox and its namespace first", async () => {
    // kwok completes Job pods without running them, so the hook's script runs here, out of
    // cluster, with the hook's ServiceAccount, exactly as the Job would run it.
    const cleanup = await serviceAccountKubeconfig(dir, namespace, `${release}-launchbay-cleanup`);
    const script = await run(process.execPath, [join(chartDir, "files", "remove-sandboxes.mjs")], {
      env: {
        PATH: process.env.PATH,
        LAUNCHBAY_NAMESPACE: namespace,
        LAUNCHBAY_TIMEOUT_SECONDS: "90",
        LAUNCHBAY_API_SERVER: cleanup.server,
        LAUNCHBAY_API_TOKEN: cleanup.token,
        LAUNCHBAY_API_CA_FILE: cleanup.caFile,
      },
      timeoutMs: 120_000,
    });
    expect(script.stderr).toBe("");
    expect(script.code).toBe(0);
    expect(script.stdout).toContain(`No Sandboxes left in ${namespace}`);
    const left = await getJson<{ items: unknown[] }>(
      "get",
      "namespaces",
      "-l",
      `launchbay.dev/sandbox-namespace=${namespace}`,
    );
    expect(left.items).toEqual([]);
    const result = await helm(
      ["uninstall", release, "-n", namespace, "--wait", "--timeout", "120s"],
      env,
    );
    ok(result, "helm uninstall");
    installed = false;
    // The generated Secrets are not release objects: they stay (a reinstall keeps the tokens).
    const kept = await getJson<{ items: { metadata: { name: string } }[] }>(
      "get",
      "secrets",
      "-n",
      namespace,
      "-l",
      `app.kubernetes.io/instance=${release}`,
    );
    expect(kept.items.map((i) => i.metadata.name).sort()).toEqual(
      [`${operatorName}-auth`, `${webName}-auth`].sort(),
    );
    for (const kind of [
      "deployments",
      "serviceaccounts",
      "roles",
      "rolebindings",
      "configmaps",
      "jobs",
      "sandboxes",
      "workshops",
    ]) {
      const rest = await getJson<{ items: { metadata: { name: string } }[] }>(
        "get",
        kind,
        "-n",
        namespace,
        "-l",
        `app.kubernetes.io/instance=${release}`,
      );
      expect(
        rest.items.map((i) => i.metadata.name),
        kind,
      ).toEqual([]);
    }
    for (const kind of [
      "clusterroles",
      "clusterrolebindings",
      "validatingadmissionpolicies",
      "validatingadmissionpolicybindings",
    ]) {
      const left = await getJson<{ items: unknown[] }>(
        "get",
        kind,
        "-l",
        `app.kubernetes.io/instance=${release}`,
      );
      expect(left.items, kind).toEqual([]);
    }
  });
});
