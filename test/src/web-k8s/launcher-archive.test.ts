import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ARCHIVE_SECRET_NAME, saveWork, unzipInto } from "@launchbay/archive";
import { type KubeClient, watchUntil } from "@launchbay/kube";
import { buildApp, createKubernetesBackend, type LauncherApp, parseConfig } from "@launchbay/web";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type {} from "../k8s/provided-context.js";
import { type MinioServer, operatorArchiveEnv, startMinio } from "../minio/minio-server.js";
import {
  isReady,
  paths,
  type SandboxView,
  smallWorkshop,
  uniqueName,
} from "../operator/fixtures.js";
import { connect, createNamespace, installCrds } from "../operator/kube.js";
import { isMsg, type OperatorProcess, startOperator } from "../operator/operator-process.js";

// "Download my saved work" after expiry on Kubernetes: the launcher finds the attendee's
// archive in object storage (MinIO here) and streams it as a zip. kwok pods do not run,
// so the test PUTs the work through the sandbox's own presigned URL, as its archive
// container does on SIGTERM (that run on a real kubelet is the real-node suite's part).
const k8s = inject("k8s");
const ORGANISER = "organiser-token-k8s-archive-0123456789";
const prefix = "launchbay/";
let client: KubeClient;
let operator: OperatorProcess;
let minio: MinioServer;
let ns: string;
let scratch: string;
let app: LauncherApp;
let base: string;

beforeAll(async () => {
  minio = await startMinio({ prefix });
  scratch = await mkdtemp(join(tmpdir(), "launchbay-launcher-archive-"));
  client = await connect(k8s.kubeconfig);
  await installCrds(client);
  ns = uniqueName("archive");
  await createNamespace(client, ns);
  await client.create(paths.workshops(ns), smallWorkshop("kept", ns, { maxSandboxes: 10 }));
  operator = startOperator(
    k8s.kubeconfig,
    ["--leader-elect", "false"],
    operatorArchiveEnv(minio, prefix),
  );
  await operator.waitForLog(isMsg("Reconciling"));

  const log = pino({ level: "warn" });
  const config = parseConfig({
    backend: "kubernetes",
    organiserToken: ORGANISER,
    logLevel: "warn",
    kubernetes: {
      kubeconfig: k8s.kubeconfig,
      namespace: ns,
      workshopName: "kept",
      archiveS3Bucket: minio.store.bucket,
      archiveS3Endpoint: minio.endpoint,
      archiveS3Region: minio.store.region,
      archiveS3Prefix: prefix,
      archiveS3PathStyle: "true",
      archiveS3AccessKeyId: minio.store.accessKeyId,
      archiveS3SecretAccessKey: minio.store.secretAccessKey,
      archiveCacheDir: join(scratch, "cache"),
    },
  });
  const { backend, workshop } = await createKubernetesBackend(config, log);
  app = await buildApp({ config: { ...config, workshop }, backend, loggerInstance: log });
  await app.listen({ host: "127.0.0.1", port: 0 });
  base = `http://localhost:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  await operator?.stop();
  client?.close();
  await minio?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function newAttendee(): Promise<string> {
  const res = await fetch(`${base}/`);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith("lb_attendee="))!;
  return cookie.split(";")[0]!;
}

async function launch(cookie: string): Promise<string> {
  const res = await fetch(`${base}/api/sandboxes`, {
    method: "POST",
    headers: { cookie, "content-type": "application/json", origin: base },
    body: "{}",
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

describe("launcher on Kubernetes: saved work after expiry (MinIO)", () => {
  it("lets the attendee download the work their sandbox archived, after it expired", async () => {
    const alice = await newAttendee();
    const id = await launch(alice);
    const [ready] = await watchUntil<SandboxView>(
      client,
      paths.sandboxes(ns),
      { name: id, timeoutMs: 60_000 },
      ([s]) => isReady(s),
    );
    const sns = ready!.status!.namespace!;
    // Nothing saved yet.
    expect((await fetch(`${base}/api/archive`, { headers: { cookie: alice } })).status).toBe(404);

    // The archive container's save, through the URL the operator gave this sandbox.
    const [secret] = await watchUntil<{ data?: Record<string, string> }>(
      client,
      `/api/v1/namespaces/${sns}/secrets`,
      { name: ARCHIVE_SECRET_NAME, timeoutMs: 30_000 },
      ([s]) => s?.data?.["put-url"] !== undefined,
    );
    const putUrl = Buffer.from(secret!.data!["put-url"]!, "base64").toString();
    const work = join(scratch, "alice-work");
    await mkdir(join(work, "results"), { recursive: true });
    await writeFile(join(work, "analysis.ipynb"), '{"cells": ["alice"]}');
    await writeFile(join(work, "results", "table.csv"), "x,y\n1,2\n");
    await writeFile(join(work, ".hidden"), "left out of downloads");
    await saveWork(work, putUrl);

    // Expiry: the operator deletes the Sandbox (and its namespace).
    await client.mergePatch(`${paths.sandboxes(ns)}/${id}`, {
      spec: { expiresAt: new Date(Date.now() - 1000).toISOString() },
    });
    await watchUntil<SandboxView>(
      client,
      paths.sandboxes(ns),
      { name: id, timeoutMs: 60_000 },
      ([s]) => s === undefined,
    );

    const info = await fetch(`${base}/api/archive`, { headers: { cookie: alice } });
    expect(info.status).toBe(200);
    const summary = (await info.json()) as { files: number; keptUntil: string; savedAt: string };
    expect(summary.files).toBe(2);
    expect(Date.parse(summary.keptUntil) - Date.parse(summary.savedAt)).toBe(7 * 86_400_000);

    const download = await fetch(`${base}/api/archive/download`, { headers: { cookie: alice } });
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("application/zip");
    const zip = join(scratch, "alice-download.zip");
    await writeFile(zip, Buffer.from(await download.arrayBuffer()));
    const out = join(scratch, "alice-download");
    await unzipInto(zip, out);
    expect((await readdir(out)).sort()).toEqual(["analysis.ipynb", "results"]);
    expect(await readFile(join(out, "results", "table.csv"), "utf8")).toBe("x,y\n1,2\n");
  });

  it("never shows one attendee's saved work to another", async () => {
    const mallory = await newAttendee();
    expect((await fetch(`${base}/api/archive`, { headers: { cookie: mallory } })).status).toBe(404);
    expect(
      (await fetch(`${base}/api/archive/download`, { headers: { cookie: mallory } })).status,
    ).toBe(404);
  });
});
