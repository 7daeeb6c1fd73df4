import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ARCHIVE_SECRET_NAME,
  archiveKey,
  restoreWork,
  S3Store,
  saveWork,
} from "@launchbay/archive";
import { isConflict, type KubeClient, watchUntil } from "@launchbay/kube";
import { claimPatch, type Sandbox } from "@launchbay/operator";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type MinioServer, operatorArchiveEnv, startMinio } from "../minio/minio-server.js";
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
let minio: MinioServer;
let store: S3Store;
let ns: string;
let scratch: string;

interface SecretView {
  data?: Record<string, string>;
}
// biome-ignore lint/suspicious/noExplicitAny: test reads deep into plain objects
type Any = any;

const prefix = "archives/";

beforeAll(async () => {
  minio = await startMinio({ prefix });
  store = new S3Store(minio.store);
  scratch = await mkdtemp(join(tmpdir(), "launchbay-archive-k8s-"));
  client = await connect(k8s.kubeconfig);
  await installCrds(client);
  ns = uniqueName("events");
  await createNamespace(client, ns);
  await client.create(paths.workshops(ns), smallWorkshop("keep", ns));
  await client.create(
    paths.workshops(ns),
    smallWorkshop("nokeep", ns, { archiveRetentionDays: 0 }),
  );
  // Archives there before the operator starts: its first retention sweep judges them.
  for (const [workshop, owner] of [
    ["keep", "fresh-owner"],
    ["nokeep", "zero-owner"],
  ] as const) {
    await putObject(archiveKey(prefix, { namespace: ns, workshop }, owner), "old work");
  }
  operator = startOperator(
    k8s.kubeconfig,
    // A long grace period, as an organiser with big work folders would set: the namespace
    // controller's own recheck then comes 301 s after its first pass (half of it, plus 1).
    [
      "--leader-elect",
      "false",
      "--archive-sweep-seconds",
      "3600",
      "--archive-grace-seconds",
      "600",
    ],
    operatorArchiveEnv(minio, prefix),
  );
  await operator.waitForLog(isMsg("Reconciling"));
});

afterAll(async () => {
  await operator?.stop();
  client?.close();
  store?.destroy();
  await minio?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function putObject(key: string, body: string) {
  const response = await fetch(await store.presignPut(key, 60), { method: "PUT", body });
  expect(response.status).toBe(200);
}

async function createSandbox(name: string, spec: Record<string, unknown>) {
  await client.create(paths.sandboxes(ns), sandboxObject(name, ns, spec));
}

const waitReady = (name: string) =>
  watchUntil<SandboxView>(client, paths.sandboxes(ns), { name, timeoutMs: 60_000 }, ([o]) =>
    isReady(o),
  ).then(([s]) => s as SandboxView);

/** The sandbox's archive Secret, decoded, once it has a PUT URL. */
async function archiveUrls(sandboxNamespace: string): Promise<Record<string, string>> {
  const [secret] = await watchUntil<SecretView>(
    client,
    `/api/v1/namespaces/${sandboxNamespace}/secrets`,
    { name: ARCHIVE_SECRET_NAME, timeoutMs: 30_000 },
    ([s]) => s?.data?.["put-url"] !== undefined,
  );
  return Object.fromEntries(
    Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
  );
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

describe("operator: work archive URLs in object storage (MinIO)", () => {
  it("writes a presigned PUT URL for the owner's own object only, and a GET URL into their next sandbox", async () => {
    const owner = "attendee-alice-7f3a";
    await createSandbox("alice", { workshop: "keep", owner });
    const sns = (await waitReady("alice")).status!.namespace!;
    const urls = await archiveUrls(sns);
    expect(Object.keys(urls)).toEqual(["put-url"]);
    const key = archiveKey(prefix, { namespace: ns, workshop: "keep" }, owner);
    const put = new URL(urls["put-url"]!);
    expect(put.pathname).toBe(`/${minio.store.bucket}/${key}`);
    expect(urls["put-url"]).not.toContain(owner);
    expect(put.searchParams.get("X-Amz-Credential")).toBeTruthy();

    // The notebook pod runs the archive container with the Secret mounted, never credentials.
    const notebook = await client.get<Any>(`${paths.deployments(sns)}/notebook`);
    const pod = notebook.spec.template.spec;
    expect(pod.containers.map((c: Any) => c.name)).toEqual(["notebook", "work-archive"]);
    expect(JSON.stringify(pod)).not.toContain(minio.store.secretAccessKey);

    // Attack: the same URL, pointed at another attendee's object, is refused by the server.
    const forged = new URL(put);
    forged.pathname = put.pathname.replace(sha(owner), sha("attendee-bob"));
    const refused = await fetch(forged, { method: "PUT", body: "overwrite bob" });
    expect(refused.status).toBe(403);
    expect(
      await store.head(archiveKey(prefix, { namespace: ns, workshop: "keep" }, "attendee-bob")),
    ).toBeUndefined();

    // Control: the archive container's save through the real URL lands in the owner's object.
    const work = join(scratch, "alice-work");
    await mkdir(work);
    await writeFile(join(work, "analysis.ipynb"), '{"cells": ["mine"]}');
    const saved = await saveWork(work, urls["put-url"]!);
    expect(saved.files).toBe(1);
    expect((await store.head(key))?.size).toBe(saved.bytes);

    // The same attendee's next sandbox gets a GET URL of it, and restoring it brings the file back.
    await createSandbox("alice-again", { workshop: "keep", owner });
    const next = await archiveUrls((await waitReady("alice-again")).status!.namespace!);
    expect(new URL(next["get-url"]!).pathname).toBe(`/${minio.store.bucket}/${key}`);
    const restoredInto = join(scratch, "alice-next");
    await mkdir(restoredInto);
    expect(await restoreWork(restoredInto, next["get-url"]!)).toMatchObject({ files: 1 });
    expect(await readFile(join(restoredInto, "analysis.ipynb"), "utf8")).toBe(
      '{"cells": ["mine"]}',
    );
  });

  it("gives a warm (unowned) sandbox no URLs until it is claimed", async () => {
    await createSandbox("warm", { workshop: "keep" });
    const sns = (await waitReady("warm")).status!.namespace!;
    const secretPath = `/api/v1/namespaces/${sns}/secrets/${ARCHIVE_SECRET_NAME}`;
    await expect(client.get(secretPath)).rejects.toThrow(/404|not found/i);
    for (let attempt = 0; ; attempt++) {
      const current = await client.get<Sandbox>(`${paths.sandboxes(ns)}/warm`);
      try {
        await client.mergePatch(
          `${paths.sandboxes(ns)}/warm`,
          claimPatch(current, "attendee-warm", new Date(Date.now() + 3600_000)),
        );
        break;
      } catch (error) {
        if (attempt >= 5 || !isConflict(error)) throw error;
      }
    }
    const urls = await archiveUrls(sns);
    expect(new URL(urls["put-url"]!).pathname).toContain(sha("attendee-warm"));
  });

  it("keeps nothing for a workshop whose retention is 0: no archive container, no URLs", async () => {
    await createSandbox("zero", { workshop: "nokeep", owner: "zero-owner" });
    const sns = (await waitReady("zero")).status!.namespace!;
    const notebook = await client.get<Any>(`${paths.deployments(sns)}/notebook`);
    expect(notebook.spec.template.spec.containers.map((c: Any) => c.name)).toEqual(["notebook"]);
    await expect(
      client.get(`/api/v1/namespaces/${sns}/secrets/${ARCHIVE_SECRET_NAME}`),
    ).rejects.toThrow(/404|not found/i);
  });

  it("sweeps the archives of a workshop whose retention is 0, keeping a fresh one of a 7-day workshop", async () => {
    await operator.waitForLog(isMsg("Deleted archives past their retention"));
    expect(
      await store.head(archiveKey(prefix, { namespace: ns, workshop: "nokeep" }, "zero-owner")),
    ).toBeUndefined();
    expect(
      await store.head(archiveKey(prefix, { namespace: ns, workshop: "keep" }, "fresh-owner")),
    ).toBeDefined();
  });

  it("touches a deleted sandbox's terminating namespace once its last pod stopped, so it goes without waiting out the notebook's grace period", async () => {
    // The namespace controller deletes the pods, and if one is still stopping it looks again
    // only grace/2 + 1 s later (301 s with this file's 600 s): on a real node the archive
    // container's save outlasts its first passes, which made expiry → namespace gone ~30 s
    // longer. The operator's touch (any update) makes it look again at once.
    await createSandbox("long-grace", { workshop: "keep", owner: "long-owner" });
    const sns = (await waitReady("long-grace")).status!.namespace!;
    const podsPath = `/api/v1/namespaces/${sns}/pods`;
    const pods = await client.get<{ items: Any[] }>(podsPath, {
      query: { labelSelector: "app.kubernetes.io/component=notebook" },
    });
    const notebook = pods.items[0];
    expect(notebook.spec.terminationGracePeriodSeconds).toBe(600);
    // kwok leaves a pod with this annotation to the test (test/k8s/kwok-stages.yaml): it
    // stays, stopping, as on a real node while the archive container saves the work.
    await client.mergePatch(`${podsPath}/${notebook.metadata.name}`, {
      metadata: { annotations: { "launchbay.test/kubelet": "test" } },
    });
    await client.delete(`${paths.sandboxes(ns)}/long-grace`);
    // The namespace controller's first pass deleted the pod and found it still there (it
    // writes the namespace's deletion conditions at the end of a pass).
    await watchUntil<Any>(
      client,
      "/api/v1/namespaces",
      { name: sns, timeoutMs: 60_000 },
      ([n]) => (n?.status?.conditions ?? []).length > 0,
    );
    const stopping = await client.get<Any>(`${podsPath}/${notebook.metadata.name}`);
    expect(stopping.metadata.deletionTimestamp).toBeDefined();
    // Watch the namespace from before the pod goes, so no update is missed.
    const touchedAt = "launchbay.dev/pods-stopped-at";
    let firstSeen: Any;
    let listed!: () => void;
    const listing = new Promise<void>((resolve) => {
      listed = resolve;
    });
    const touched = watchUntil<Any>(
      client,
      "/api/v1/namespaces",
      { name: sns, timeoutMs: 120_000 },
      ([n]) => {
        firstSeen ??= n ?? null;
        listed();
        return n === undefined || n.metadata.annotations?.[touchedAt] !== undefined;
      },
    );
    await listing;
    // Control: while a pod is still stopping, the namespace is not touched.
    expect(firstSeen?.metadata.annotations?.[touchedAt]).toBeUndefined();
    // The pod's containers have stopped: the kubelet removes the pod (grace 0).
    await client.delete(`${podsPath}/${notebook.metadata.name}`, { gracePeriodSeconds: "0" });
    const [last] = await touched;
    expect(last?.metadata.annotations?.[touchedAt], "touched before it went").toBeDefined();
    await watchUntil(
      client,
      "/api/v1/namespaces",
      { name: sns, timeoutMs: 120_000 },
      ([n]) => n === undefined,
    );
    await watchUntil(
      client,
      paths.sandboxes(ns),
      { name: "long-grace", timeoutMs: 30_000 },
      ([s]) => s === undefined,
    );
  }, 300_000);
});
