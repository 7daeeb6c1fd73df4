import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  ApiException,
  AuthenticationV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1ConfigMap,
  type V1Pod,
  VersionApi,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loadKubeConfig, watchUntil } from "@launchbay/kube";
import { createTestNamespace, kubeClientFrom } from "./kube-test-client.js";
import type {} from "./provided-context.js";

const run = promisify(execFile);
const { kubeconfig, toolsDir, nodes, server } = inject("k8s");
// client-node's typed APIs for the requests (as users of the harness call it), and
// @launchbay/kube's watchUntil to wait on the API server.
const kc = loadKubeConfig(kubeconfig, "default", "start the test control plane");
const core = kc.makeApiClient(CoreV1Api);
const client = await kubeClientFrom(kubeconfig);
const namespaces: string[] = [];

async function namespace(prefix: string, labels?: Record<string, string>): Promise<string> {
  const name = await createTestNamespace(client, prefix, labels);
  namespaces.push(name);
  return name;
}

afterAll(async () => {
  await Promise.all(namespaces.map((name) => core.deleteNamespace({ name }).catch(() => {})));
  client.close();
});

/** A pod the `restricted` Pod Security level admits. */
function restrictedPod(name: string): V1Pod {
  return {
    metadata: { name },
    spec: {
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        seccompProfile: { type: "RuntimeDefault" },
      },
      containers: [
        {
          name: "main",
          image: "registry.example/app:1",
          resources: { requests: { cpu: "100m", memory: "64Mi" } },
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        },
      ],
    },
  };
}

async function apiError(promise: Promise<unknown>): Promise<ApiException<string>> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiException) return error as ApiException<string>;
    throw error;
  }
  throw new Error("the request succeeded but was expected to fail");
}

describe("the test control plane", () => {
  it("serves the API at the pinned Kubernetes version with Ready kwok nodes", async () => {
    const version = await kc.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    expect(server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

    const { stdout } = await run(join(toolsDir, "kubectl"), [
      "--kubeconfig",
      kubeconfig,
      "version",
      "-o",
      "json",
    ]);
    const reported = JSON.parse(stdout) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    expect(reported.serverVersion.gitVersion).toBe(version.gitVersion);
    expect(reported.clientVersion.gitVersion).toBe(version.gitVersion);

    const list = await core.listNode();
    const ready = list.items
      .filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
      .map((n) => n.metadata?.name);
    expect(nodes.length).toBeGreaterThanOrEqual(2);
    expect(ready).toEqual(expect.arrayContaining(nodes));
    const allocatable = list.items.find((n) => n.metadata?.name === nodes[0])?.status?.allocatable;
    expect(allocatable).toMatchObject({ cpu: "8", memory: "32Gi", pods: "110" });
  });

  it("rejects requests without a client certificate", async () => {
    const anonymous = new KubeConfig();
    anonymous.loadFromOptions({
      clusters: [{ name: "c", server, caData: kc.getCurrentCluster()?.caData }],
      users: [{ name: "anonymous" }],
      contexts: [{ name: "c", cluster: "c", user: "anonymous" }],
      currentContext: "c",
    });
    const error = await apiError(anonymous.makeApiClient(CoreV1Api).listNamespace());
    expect(error.code).toBe(401);
  });

  it("schedules a pod onto a kwok node and reports it Running and Ready with a pod IP", async () => {
    const ns = await namespace("schedule");
    await core.createNamespacedPod({ namespace: ns, body: restrictedPod("web") });
    const [pod] = await watchUntil<V1Pod>(
      client,
      `/api/v1/namespaces/${ns}/pods`,
      { name: "web", what: "pod web to be Running and Ready" },
      ([p]) =>
        p?.status?.phase === "Running" &&
        (p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false) &&
        Boolean(p.status.podIP),
    );
    expect(nodes).toContain(pod?.spec?.nodeName);
    expect(pod?.status?.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });

  it("rejects a privileged pod in a namespace that enforces the restricted Pod Security level", async () => {
    const ns = await namespace("restricted", {
      "pod-security.kubernetes.io/enforce": "restricted",
    });
    const privileged: V1Pod = {
      metadata: { name: "privileged" },
      spec: {
        containers: [
          { name: "main", image: "registry.example/app:1", securityContext: { privileged: true } },
        ],
      },
    };
    const error = await apiError(core.createNamespacedPod({ namespace: ns, body: privileged }));
    expect(error.code).toBe(403);
    const status = JSON.parse(String(error.body)) as { reason: string; message: string };
    expect(status.reason).toBe("Forbidden");
    expect(status.message).toContain('violates PodSecurity "restricted:latest": privileged');
    // The same namespace admits a pod that meets the level: the policy, not the namespace, said no.
    const admitted = await core.createNamespacedPod({
      namespace: ns,
      body: restrictedPod("compliant"),
    });
    expect(admitted.metadata?.name).toBe("compliant");
  });

  it("finishes deleting a namespace and everything in it", async () => {
    const ns = await createTestNamespace(client, "doomed");
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "data" }, data: { a: "1" } },
    });
    await core.createNamespacedPod({ namespace: ns, body: restrictedPod("worker") });
    await core.deleteNamespace({ name: ns });
    await watchUntil(client, "/api/v1/namespaces", { name: ns }, (items) => items.length === 0);
    const error = await apiError(core.readNamespace({ name: ns }));
    expect(error.code).toBe(404);
  });

  it("garbage-collects a ConfigMap when its owner ConfigMap is deleted", async () => {
    const ns = await namespace("gc");
    const owner = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "owner" } },
    });
    const child: V1ConfigMap = {
      metadata: {
        name: "child",
        ownerReferences: [
          { apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata?.uid ?? "" },
        ],
      },
    };
    await core.createNamespacedConfigMap({ namespace: ns, body: child });
    const bystander = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "bystander" } },
    });
    await core.deleteNamespacedConfigMap({
      namespace: ns,
      name: "owner",
      propagationPolicy: "Background",
    });
    await watchUntil(
      client,
      `/api/v1/namespaces/${ns}/configmaps`,
      { name: "child" },
      (items) => items.length === 0,
    );
    const kept = await core.readNamespacedConfigMap({ namespace: ns, name: "bystander" });
    expect(kept.metadata?.uid).toBe(bystander.metadata?.uid);
  });

  it("issues a ServiceAccount token that authenticates, with RBAC allowing only what is granted", async () => {
    const ns = await namespace("tokens");
    await core.createNamespacedServiceAccount({
      namespace: ns,
      body: { metadata: { name: "reader" } },
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "settings" }, data: { k: "v" } },
    });
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: "read-configmaps" },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: "reader" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "read-configmaps" },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace: ns }],
      },
    });
    const request = await core.createNamespacedServiceAccountToken({
      namespace: ns,
      name: "reader",
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = request.status?.token;
    expect(token).toMatch(/^ey/);

    const asReader = new KubeConfig();
    asReader.loadFromOptions({
      clusters: [{ name: "c", server, caData: kc.getCurrentCluster()?.caData }],
      users: [{ name: "reader", token }],
      contexts: [{ name: "c", cluster: "c", user: "reader" }],
      currentContext: "c",
    });
    const review = await asReader
      .makeApiClient(AuthenticationV1Api)
      .createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${ns}:reader`);

    const readerCore = asReader.makeApiClient(CoreV1Api);
    const settings = await readerCore.readNamespacedConfigMap({ namespace: ns, name: "settings" });
    expect(settings.data).toEqual({ k: "v" });
    expect((await apiError(readerCore.listNamespacedSecret({ namespace: ns }))).code).toBe(403);
    expect((await apiError(readerCore.listNamespacedConfigMap({ namespace: ns }))).code).toBe(403);
    expect(
      (
        await apiError(
          readerCore.readNamespacedConfigMap({ namespace: "default", name: "kube-root-ca.crt" }),
        )
      ).code,
    ).toBe(403);
  });

  it("runs helm and kwok from the tools directory", async () => {
    const helm = await run(join(toolsDir, "helm"), ["version", "--short"]);
    expect(helm.stdout.trim()).toMatch(/^v3\.17\.\d+/);
    const kwok = await run(join(toolsDir, "kwok"), ["--version"]);
    expect(kwok.stdout.trim()).toMatch(/0\.7\.0/);
  });
});

beforeAll(() => {
  // Processes the tests start (kubectl, helm, the operator) find the cluster the same way.
  expect(process.env.LAUNCHBAY_TEST_KUBECONFIG).toBe(kubeconfig);
  expect(process.env.LAUNCHBAY_TEST_K8S_TOOLS).toBe(toolsDir);
});
