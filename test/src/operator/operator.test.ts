import { isConflict, type KubeClient, watchUntil } from "@launchbay/kube";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { claimPatch, type Sandbox } from "@launchbay/operator";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  isReady,
  paths,
  type SandboxView,
  sandboxObject,
  smallWorkshop,
  uniqueName,
} from "./fixtures.js";
import { connect, createNamespace, installCrds } from "./kube.js";
import { isMsg, type OperatorProcess, startOperator } from "./operator-process.js";

const k8s = inject("k8s");
let client: KubeClient;
let operator: OperatorProcess;
let ns: string;
let notebookServer: Server;
/** Fake Jupyter /api/status answers per sandbox name: last_activity and the token expected. */
const notebookActivity = new Map<string, string>();
const notebookTokensSeen = new Map<string, string>();

beforeAll(async () => {
  client = await connect(k8s.kubeconfig);
  await installCrds(client);
  ns = uniqueName("events");
  await createNamespace(client, ns);
  notebookServer = createServer((req, res) => {
    const match = /^\/s\/([^/]+)\/notebook\/api\/status$/.exec(req.url ?? "");
    const activity = match ? notebookActivity.get(match[1]!) : undefined;
    if (!match || !activity) {
      res.writeHead(404).end();
      return;
    }
    notebookTokensSeen.set(match[1]!, req.headers.authorization ?? "");
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({ connections: 0, kernels: 1, last_activity: activity, started: activity }),
    );
  });
  await new Promise<void>((r) => notebookServer.listen(0, "127.0.0.1", r));
  const port = (notebookServer.address() as AddressInfo).port;
  operator = startOperator(k8s.kubeconfig, [
    "--leader-elect",
    "false",
    "--idle-probe-seconds",
    "1",
    "--notebook-url-template",
    `http://127.0.0.1:${port}{basePath}`,
  ]);
  await operator.waitForLog(isMsg("Reconciling"));
});

afterAll(async () => {
  await operator?.stop();
  if (notebookServer) await new Promise((r) => notebookServer.close(r));
  client?.close();
});

async function createWorkshop(name: string, spec: Record<string, unknown> = {}) {
  await client.create(paths.workshops(ns), smallWorkshop(name, ns, spec));
}

/** Claims a warm sandbox as the launcher does: read, patch with its resourceVersion, retry on 409. */
async function claim(name: string, owner: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const current = await client.get<Sandbox>(`${paths.sandboxes(ns)}/${name}`);
    try {
      await client.mergePatch(
        `${paths.sandboxes(ns)}/${name}`,
        claimPatch(current, owner, new Date(Date.now() + 3600_000)),
      );
      return;
    } catch (error) {
      if (attempt >= 5 || !isConflict(error)) throw error;
    }
  }
}

async function createSandbox(name: string, spec: Record<string, unknown>) {
  await client.create(paths.sandboxes(ns), sandboxObject(name, ns, spec));
}

const waitReady = (name: string, timeoutMs = 60_000) =>
  watchUntil<SandboxView>(client, paths.sandboxes(ns), { name, timeoutMs }, ([o]) =>
    isReady(o),
  ).then(([s]) => s as SandboxView);

describe("operator against a real control plane", () => {
  it("creates every object of a sandbox, runs its pods on kwok nodes and reports Ready with endpoints", async () => {
    await createWorkshop("basics");
    await createSandbox("alice", { workshop: "basics", owner: "alice@example.org" });
    const sandbox = await waitReady("alice");
    const sns = sandbox.status!.namespace!;
    expect(sandbox.status!.endpoints).toEqual({
      scheduler: `ws://scheduler.${sns}.svc:8786`,
      dashboard: `http://scheduler.${sns}.svc:8786/dashboard/`,
      notebook: `http://notebook.${sns}.svc:8888/s/alice/notebook/`,
    });
    expect(sandbox.status!.conditions!.map((c) => [c.type, c.status])).toEqual([
      ["SchedulerReady", "True"],
      ["WorkersReady", "True"],
      ["NotebookReady", "True"],
      ["Ready", "True"],
    ]);

    const namespace = await client.get<{ metadata: { labels: Record<string, string> } }>(
      `/api/v1/namespaces/${sns}`,
    );
    expect(namespace.metadata.labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "restricted",
      "launchbay.dev/sandbox": "alice",
      "launchbay.dev/sandbox-namespace": ns,
      "launchbay.dev/workshop": "basics",
    });
    const names = async (path: string) =>
      (await client.get<{ items: { metadata: { name: string } }[] }>(path)).items
        .map((i) => i.metadata.name)
        .sort();
    expect(await names(paths.deployments(sns))).toEqual(["notebook", "scheduler", "workers"]);
    expect(await names(`/api/v1/namespaces/${sns}/services`)).toEqual([
      "notebook",
      "scheduler",
      "workers",
    ]);
    expect(await names(paths.networkPolicies(sns))).toEqual([
      "allow-dns",
      "allow-launcher",
      "allow-operator-probe",
      "allow-same-namespace",
      "default-deny",
    ]);
    const quota = await client.get<{ spec: { hard: Record<string, string> } }>(
      `/api/v1/namespaces/${sns}/resourcequotas/sandbox`,
    );
    expect(quota.spec.hard).toMatchObject({
      pods: "4",
      "limits.cpu": "400m",
      "limits.memory": "896Mi",
    });
    await client.get(`/api/v1/namespaces/${sns}/limitranges/sandbox`);
    const sa = await client.get<{ automountServiceAccountToken: boolean }>(
      `/api/v1/namespaces/${sns}/serviceaccounts/sandbox`,
    );
    expect(sa.automountServiceAccountToken).toBe(false);
    const secret = await client.get<{ data: Record<string, string> }>(
      `/api/v1/namespaces/${sns}/secrets/sandbox-tokens`,
    );
    expect(Object.keys(secret.data).sort()).toEqual(["notebook-token", "runtime-token"]);

    const pods = await client.get<{
      items: { spec: { nodeName: string }; status: { phase: string; podIP: string } }[];
    }>(paths.pods(sns));
    expect(pods.items).toHaveLength(4);
    for (const p of pods.items) {
      expect(k8s.nodes).toContain(p.spec.nodeName);
      expect(p.status.phase).toBe("Running");
      expect(p.status.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    }
    const policy = await client.get<{ spec: { ingress: { from: unknown[] }[] } }>(
      `${paths.networkPolicies(sns)}/allow-launcher`,
    );
    expect(policy.spec.ingress[0]!.from).toEqual([
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "launchbay" } },
        podSelector: { matchLabels: { "app.kubernetes.io/component": "launcher" } },
      },
    ]);
  });

  it("has the API server reject a pod that violates Pod Security restricted in a sandbox namespace", async () => {
    const sandbox = await waitReady("alice");
    const sns = sandbox.status!.namespace!;
    const attempt = client.create(paths.pods(sns), {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "privileged" },
      spec: {
        containers: [{ name: "c", image: "busybox", securityContext: { privileged: true } }],
      },
    });
    await expect(attempt).rejects.toThrow(/403.*violates PodSecurity "restricted:latest"/);
  });

  it("has the API server reject bad specs with a message naming the field", async () => {
    await expect(
      createSandbox("bad", { workshop: "Not_A_Name", expiresAt: "tomorrow" }),
    ).rejects.toThrow(/422.*spec\.workshop.*should match|422.*spec\.expiresAt/s);
    await expect(
      client.create(
        paths.workshops(ns),
        smallWorkshop("badws", ns, { lifetime: "two hours", access: { mode: "accessCode" } }),
      ),
    ).rejects.toThrow(/422.*spec\.lifetime/s);
    await expect(
      client.create(
        paths.workshops(ns),
        smallWorkshop("badws", ns, { access: { mode: "accessCode" } }),
      ),
    ).rejects.toThrow(/access\.mode accessCode needs access\.secretName/);
  });

  it("recreates children deleted by hand", async () => {
    const sandbox = await waitReady("alice");
    const sns = sandbox.status!.namespace!;
    await client.delete(`${paths.deployments(sns)}/workers`);
    await client.delete(`${paths.networkPolicies(sns)}/default-deny`);
    await watchUntil(
      client,
      paths.networkPolicies(sns),
      { name: "default-deny", timeoutMs: 30_000 },
      ([o]) => o !== undefined,
    );
    await watchUntil<{ status?: { readyReplicas?: number } }>(
      client,
      paths.deployments(sns),
      { name: "workers", timeoutMs: 60_000 },
      ([d]) => d?.status?.readyReplicas === 2,
    );
    await waitReady("alice");
  });

  it("deletes an expired sandbox and its namespace within seconds of expiresAt", async () => {
    await createWorkshop("short");
    const expiresAt = new Date(Date.now() + 12_000);
    await createSandbox("bob", {
      workshop: "short",
      owner: "bob",
      expiresAt: expiresAt.toISOString(),
    });
    const sandbox = await waitReady("bob", 12_000);
    expect(sandbox.status!.expiresAt).toBe(expiresAt.toISOString());
    const sns = sandbox.status!.namespace!;
    await watchUntil<SandboxView>(
      client,
      paths.sandboxes(ns),
      { name: "bob", timeoutMs: 30_000 },
      ([o]) => !o || Boolean(o.metadata.deletionTimestamp),
    );
    const deletedAfter = Date.now() - expiresAt.getTime();
    // The operator deletes the Sandbox at expiresAt (it requeued for exactly then)...
    expect(deletedAfter).toBeGreaterThanOrEqual(0);
    expect(deletedAfter).toBeLessThan(1_500);
    // ...and the finalizer lets it go once Kubernetes' namespace controller has removed the
    // namespace, which takes about 5 s on this control plane even for an empty namespace.
    await watchUntil(
      client,
      paths.sandboxes(ns),
      { name: "bob", timeoutMs: 60_000 },
      ([o]) => o === undefined,
    );
    const sandboxGoneAfter = Date.now() - expiresAt.getTime();
    await watchUntil(
      client,
      paths.namespaces,
      { name: sns, timeoutMs: 60_000 },
      ([o]) => o === undefined,
    );
    const namespaceGoneAfter = Date.now() - expiresAt.getTime();
    console.info(
      `expiry: deletion requested ${deletedAfter} ms, Sandbox gone ${sandboxGoneAfter} ms, namespace gone ${namespaceGoneAfter} ms after expiresAt`,
    );
  });

  it("keeps the warm pool filled after claims and never exceeds maxSandboxes", async () => {
    await createWorkshop("pool", { warmPool: 2, maxSandboxes: 3 });
    const selector = "launchbay.dev/workshop=pool";
    const warmReady = (items: SandboxView[]) => items.filter((s) => !s.spec.owner && isReady(s));
    let items = await watchUntil<SandboxView>(
      client,
      paths.sandboxes(ns),
      { labelSelector: selector, timeoutMs: 60_000 },
      (i) => warmReady(i).length === 2,
    );
    expect(items).toHaveLength(2);

    const first = warmReady(items)[0]!;
    await claim(first.metadata.name, "carol");
    items = await watchUntil<SandboxView>(
      client,
      paths.sandboxes(ns),
      { labelSelector: selector, timeoutMs: 60_000 },
      (i) => i.length === 3 && warmReady(i).length === 2,
    );
    const claimed = items.find((s) => s.spec.owner === "carol")!;
    expect(claimed.metadata.name).toBe(first.metadata.name);

    // A stale claim (old resourceVersion) loses: two launchers cannot claim one sandbox.
    await expect(
      client.mergePatch(
        `${paths.sandboxes(ns)}/${first.metadata.name}`,
        claimPatch(first as unknown as Sandbox, "mallory", new Date()),
      ),
    ).rejects.toThrow(/409/);

    const second = warmReady(items)[0]!;
    await claim(second.metadata.name, "dave");
    // At capacity (3): the pool cannot refill beyond it.
    await createSandbox("eve", { workshop: "pool", owner: "eve" });
    const [eve] = await watchUntil<SandboxView>(
      client,
      paths.sandboxes(ns),
      { name: "eve", timeoutMs: 30_000 },
      ([s]) => s?.status?.phase === "Failed",
    );
    expect(eve!.status!.message).toContain("Workshop pool is at capacity (maxSandboxes=3)");
    const [workshop] = await watchUntil<{
      status?: { sandboxes?: number; claimed?: number; counts?: Record<string, number> };
    }>(
      client,
      paths.workshops(ns),
      { name: "pool", timeoutMs: 30_000 },
      ([w]) => w?.status?.claimed === 2 && w.status.counts?.Failed === 1,
    );
    expect(workshop!.status!.sandboxes).toBe(4);
    const all = await client.get<{ items: SandboxView[] }>(paths.sandboxes(ns), {
      query: { labelSelector: selector },
    });
    expect(all.items.filter((s) => s.status?.phase !== "Failed")).toHaveLength(3);
  });

  it("expires a sandbox whose notebook reports no activity for idleTimeout, and keeps an active one", async () => {
    await createWorkshop("idle", { idleTimeout: "6s" });
    const longAgo = new Date(Date.now() - 3600_000).toISOString();
    notebookActivity.set("idler", longAgo);
    notebookActivity.set("busy", new Date().toISOString());
    const keepBusy = setInterval(() => notebookActivity.set("busy", new Date().toISOString()), 500);
    try {
      await createSandbox("idler", { workshop: "idle", owner: "i" });
      await createSandbox("busy", { workshop: "idle", owner: "b" });
      const busy = await waitReady("busy");
      const started = Date.now();
      await watchUntil(
        client,
        paths.sandboxes(ns),
        { name: "idler", timeoutMs: 30_000 },
        ([o]) => o === undefined,
      );
      console.info(`idle expiry: idler gone ${Date.now() - started} ms after busy was Ready`);
      const secret = await client.get<{ data: Record<string, string> }>(
        `/api/v1/namespaces/${busy.status!.namespace}/secrets/sandbox-tokens`,
      );
      const token = Buffer.from(secret.data["notebook-token"]!, "base64").toString();
      expect(notebookTokensSeen.get("busy")).toBe(`token ${token}`);
      const still = await client.get<SandboxView>(`${paths.sandboxes(ns)}/busy`);
      expect(still.metadata.deletionTimestamp).toBeUndefined();
    } finally {
      clearInterval(keepBusy);
    }
  });

  it("does not retry a sandbox whose objects the API server refuses as invalid, and says why", async () => {
    // Accepted by the CRD schema, refused by the API server's Pod validation: a toleration
    // with operator Exists must have no value.
    await createWorkshop("refused", {
      sandbox: {
        ...smallWorkshop("refused", ns).spec.sandbox,
        placement: { tolerations: [{ key: "pool", operator: "Exists", value: "workshop" }] },
      },
    });
    await createSandbox("refusedbox", { workshop: "refused", owner: "refused@example.org" });
    const key = `${ns}/refusedbox`;
    const forKey = (msg: string) => (l: Record<string, unknown>) => l.msg === msg && l.key === key;
    await operator.waitForLog(
      forKey("Reconcile failed terminally; not retrying until the object changes"),
      60_000,
    );
    const [refused] = await watchUntil<SandboxView>(
      client,
      paths.sandboxes(ns),
      { name: "refusedbox", timeoutMs: 30_000 },
      ([s]) => Boolean(s?.status?.message?.includes("Could not create the sandbox's objects")),
    );
    expect(refused!.status!.message).toMatch(/422.*tolerations/s);
    // Control: a valid sandbox created after it becomes Ready. The work queue would have
    // retried the refused one several times by then (200 ms, 400 ms, 800 ms, ...).
    await createSandbox("controlbox", { workshop: "basics", owner: "control@example.org" });
    await waitReady("controlbox");
    expect(operator.logs.filter(forKey("Reconcile failed; retrying"))).toEqual([]);
  });

  it("records Kubernetes Events on the Sandbox", async () => {
    const events = await client.get<{
      items: { reason: string; involvedObject: { name: string } }[];
    }>(`/api/v1/namespaces/${ns}/events`, {
      query: { fieldSelector: "involvedObject.name=alice" },
    });
    expect(events.items.map((e) => e.reason)).toContain("Ready");
  });

  it("keeps a sandbox whose worker crashed once, and fails one whose worker crashed five times in the window, saying why", async () => {
    await createWorkshop("crashy");
    await createSandbox("steady", { workshop: "crashy", owner: "steady@example.org" });
    await createSandbox("crashing", { workshop: "crashy", owner: "crashing@example.org" });
    /** What the kubelet reports after restarting a crashed container: its last termination. */
    const crashWorker = async (
      sandboxName: string,
      times: number,
      reason: string,
      exitCode: number,
    ) => {
      const sns = (await waitReady(sandboxName)).status!.namespace!;
      const pods = await client.get<{
        items: {
          metadata: { name: string; labels: Record<string, string> };
          status: { containerStatuses: Record<string, unknown>[] };
        }[];
      }>(paths.pods(sns));
      const worker = pods.items.find(
        (p) => p.metadata.labels["app.kubernetes.io/component"] === "worker",
      )!;
      for (let i = 1; i <= times; i++) {
        const finishedAt = new Date(Date.now() - (times - i) * 1000)
          .toISOString()
          .replace(/\.\d+Z$/, "Z");
        await client.mergePatch(`${paths.pods(sns)}/${worker.metadata.name}/status`, {
          status: {
            containerStatuses: worker.status.containerStatuses.map((c) => ({
              ...c,
              restartCount: i,
              lastState: { terminated: { exitCode, reason, finishedAt, startedAt: finishedAt } },
            })),
          },
        });
        // Each crash is seen by the operator before the next one replaces it on the pod.
        await watchUntil<SandboxView & { status?: { crashes?: unknown[] } }>(
          client,
          paths.sandboxes(ns),
          { name: sandboxName, timeoutMs: 30_000 },
          ([o]) => (o?.status?.crashes?.length ?? 0) >= i,
        );
      }
    };
    await crashWorker("steady", 1, "Error", 1);
    await crashWorker("crashing", 5, "OOMKilled", 137);
    const [failed] = await watchUntil<SandboxView>(
      client,
      paths.sandboxes(ns),
      { name: "crashing", timeoutMs: 30_000 },
      ([o]) => o?.status?.phase === "Failed",
    );
    expect(failed!.status!.conditions!.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "RepeatedCrashes",
    });
    expect(failed!.status!.message).toMatch(
      /^The worker crashed 5 times within 10 minutes; it ran out of memory \(OOMKilled\)\. Your notebook and its files are kept/,
    );
    // Its pods and endpoints stay, so the attendee can still download their work.
    expect(failed!.status!.endpoints?.notebook).toBeTruthy();
    const steady = await client.get<SandboxView>(`${paths.sandboxes(ns)}/steady`);
    expect(steady.status?.phase).toBe("Ready");
  });
});
