import { type KubeClient, watchUntil } from "@launchbay/kube";
import { existsSync } from "node:fs";
import { launchChromium } from "../chromium.js";
import { type IncomingHttpHeaders, request } from "node:http";
import type { AddressInfo } from "node:net";
import { buildApp, createKubernetesBackend, type LauncherApp, parseConfig } from "@launchbay/web";
import pino from "pino";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import WebSocket from "ws";
import type {} from "../k8s/provided-context.js";
import { paths, type SandboxView, smallWorkshop, uniqueName } from "../operator/fixtures.js";
import { connect, createNamespace, installCrds } from "../operator/kube.js";
import { isMsg, type OperatorProcess, startOperator } from "../operator/operator-process.js";

// The launcher with its Kubernetes backend against the real control plane (kwok nodes)
// and the real operator process: launch → Sandbox created → Ready → redirect URL; warm
// pool claims; extend; expiry reflected in the attendee's page.
const k8s = inject("k8s");
const ORGANISER = "organiser-token-k8s-test-0123456789";
let client: KubeClient;
let operator: OperatorProcess;
let ns: string;
const apps: LauncherApp[] = [];
let browser: Browser | undefined;

async function startLauncher(
  workshopName: string,
  overrides: { saveOpenDocumentsSeconds?: number } = {},
): Promise<{ app: LauncherApp; base: string }> {
  const log = pino({ level: "warn" });
  const config = parseConfig({
    backend: "kubernetes",
    organiserToken: ORGANISER,
    logLevel: "warn",
    maxConcurrentStarts: 20,
    kubernetes: { kubeconfig: k8s.kubeconfig, namespace: ns, workshopName },
    ...overrides,
  });
  const { backend, workshop } = await createKubernetesBackend(config, log);
  const app = await buildApp({ config: { ...config, workshop }, backend, loggerInstance: log });
  apps.push(app);
  await app.listen({ host: "127.0.0.1", port: 0 });
  return { app, base: `http://localhost:${(app.server.address() as AddressInfo).port}` };
}

/** A GET to the launcher with the Host we choose (fetch cannot set it). */
function onHost(
  host: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: Number(host.split(":")[1]), path, headers: { host, ...headers } },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, headers: res.headers });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

async function newAttendee(base: string): Promise<string> {
  const res = await fetch(`${base}/`);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith("lb_attendee="))!;
  return cookie.split(";")[0]!;
}

/** Resolves with the first progress message that satisfies predicate. */
function waitForView(
  base: string,
  cookie: string,
  id: string,
  predicate: (sandbox: Record<string, unknown> | undefined) => boolean,
  seen: string[] = [],
): Promise<Record<string, unknown> | undefined> {
  const ws = new WebSocket(`${base.replace("http", "ws")}/api/sandboxes/${id}/events`, {
    headers: { cookie, origin: base },
  });
  return new Promise((resolve, reject) => {
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString());
      const sandbox = msg.type === "sandbox" ? msg.sandbox : undefined;
      if (sandbox && seen[seen.length - 1] !== sandbox.phase) seen.push(sandbox.phase);
      if (predicate(sandbox)) {
        ws.close();
        resolve(sandbox);
      }
    });
    ws.on("unexpected-response", (_req, res) =>
      reject(new Error(`events: HTTP ${res.statusCode}`)),
    );
    ws.on("error", reject);
  });
}

beforeAll(async () => {
  client = await connect(k8s.kubeconfig);
  await installCrds(client);
  ns = uniqueName("launcher");
  await createNamespace(client, ns);
  await client.create(
    paths.workshops(ns),
    smallWorkshop("attendees", ns, { lifetime: "1h", maxLifetime: "2h", maxSandboxes: 20 }),
  );
  await client.create(
    paths.workshops(ns),
    smallWorkshop("warm", ns, { warmPool: 2, maxSandboxes: 10 }),
  );
  operator = startOperator(k8s.kubeconfig, ["--leader-elect", "false"]);
  await operator.waitForLog(isMsg("Reconciling"));
});

afterAll(async () => {
  await browser?.close();
  for (const app of apps) await app.close();
  await operator?.stop();
  client?.close();
});

describe("launcher on Kubernetes", () => {
  it("takes the workshop's settings from its Workshop resource", async () => {
    const { base } = await startLauncher("attendees");
    const cookie = await newAttendee(base);
    const workshop = await (await fetch(`${base}/api/workshop`, { headers: { cookie } })).json();
    expect(workshop).toMatchObject({
      title: "Test workshop attendees",
      lifetimeMinutes: 60,
      maxLifetimeMinutes: 120,
      workers: 2,
    });
    expect(workshop.capacity).toMatchObject({ max: 20 });
  });

  it("launch creates a Sandbox that becomes Ready and gives the redirect URL", async () => {
    const { base } = await startLauncher("attendees");
    const cookie = await newAttendee(base);
    const started = Date.now();
    const res = await fetch(`${base}/api/sandboxes`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json", origin: base },
      body: "{}",
    });
    expect(res.status).toBe(201);
    const { id } = await res.json();
    const [object] = await watchUntil<SandboxView>(
      client,
      paths.sandboxes(ns),
      { name: id, timeoutMs: 30_000 },
      ([s]) => s !== undefined,
    );
    expect(object!.spec.workshop).toBe("attendees");
    expect(object!.spec.owner).toMatch(/.{16,}/);
    expect(Date.parse(object!.spec.expiresAt!) - started).toBeGreaterThan(59 * 60_000);
    const seen: string[] = [];
    const ready = await waitForView(base, cookie, id, (s) => s?.phase === "Ready", seen);
    expect(ready).toMatchObject({
      id,
      sandboxUrl: `/s/${id}/`,
      notebookUrl: `/s/${id}/open/notebook`,
    });
    expect(seen[seen.length - 1]).toBe("Ready");
    // Using the notebook through the proxy records activity for the idle timeout (the
    // in-cluster address itself is unreachable from this machine: no pods really run).
    // The notebook lives on the sandbox's own origin, <id>.localhost: follow the handover.
    const open = await fetch(`${base}/s/${id}/open/notebook`, {
      headers: { cookie },
      redirect: "manual",
    });
    const handover = new URL(open.headers.get("location")!);
    expect(handover.hostname).toBe(`${id}.localhost`);
    const landed = await onHost(handover.host, handover.pathname + handover.search, {});
    const sandboxCookie = String(landed.headers["set-cookie"]).split(";")[0]!;
    await onHost(handover.host, `/s/${id}/notebook/lab`, { cookie: sandboxCookie });
    const [touched] = await watchUntil<
      SandboxView & { metadata: { annotations?: Record<string, string> } }
    >(client, paths.sandboxes(ns), { name: id, timeoutMs: 30_000 }, ([s]) =>
      Boolean(
        (s as { metadata: { annotations?: Record<string, string> } } | undefined)?.metadata
          .annotations?.["launchbay.dev/last-activity"],
      ),
    );
    expect(
      Date.parse(touched!.metadata.annotations!["launchbay.dev/last-activity"]!),
    ).toBeGreaterThanOrEqual(started - 1000);
    // The same attendee gets the same sandbox back.
    const again = await fetch(`${base}/api/sandboxes`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json", origin: base },
      body: "{}",
    });
    expect((await again.json()).id).toBe(id);
    // Extend patches spec.expiresAt.
    const extended = await fetch(`${base}/api/sandboxes/${id}/extend`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json", origin: base },
      body: JSON.stringify({ minutes: 15 }),
    });
    expect(extended.status).toBe(200);
    const [patched] = await watchUntil<SandboxView>(
      client,
      paths.sandboxes(ns),
      { name: id, timeoutMs: 30_000 },
      ([s]) => s?.spec.expiresAt !== object!.spec.expiresAt,
    );
    expect(
      Date.parse(patched!.spec.expiresAt!) - Date.parse(object!.spec.expiresAt!),
    ).toBeGreaterThanOrEqual(14 * 60_000);
  });

  it("asks the sandbox's open JupyterLab tabs to save shortly before the operator's expiry, and before Expire", async () => {
    const { base } = await startLauncher("attendees");
    /** Launches for a new attendee and opens a JupyterLab tab's save bridge on its origin. */
    const launchWithTab = async (base: string) => {
      const port = new URL(base).port;
      const cookie = await newAttendee(base);
      const res = await fetch(`${base}/api/sandboxes`, {
        method: "POST",
        headers: { cookie, "content-type": "application/json", origin: base },
        body: "{}",
      });
      const { id } = (await res.json()) as { id: string };
      await waitForView(base, cookie, id, (s) => s?.phase === "Ready");
      const open = await fetch(`${base}/s/${id}/open/notebook`, {
        headers: { cookie },
        redirect: "manual",
      });
      const handover = new URL(open.headers.get("location")!);
      const landed = await onHost(handover.host, handover.pathname + handover.search, {});
      const sandboxCookie = String(landed.headers["set-cookie"]).split(";")[0]!;
      const asked: number[] = [];
      const tab = new WebSocket(`ws://127.0.0.1:${port}/s/${id}/save-bridge`, {
        headers: {
          host: `${id}.localhost:${port}`,
          origin: `http://${id}.localhost:${port}`,
          cookie: sandboxCookie,
        },
      });
      tab.on("message", (data) => {
        const msg = JSON.parse(data.toString()) as { type: string; request: number };
        if (msg.type !== "save") return;
        asked.push(Date.now());
        tab.send(JSON.stringify({ type: "saved", request: msg.request, saved: 1, failed: 0 }));
      });
      await new Promise<void>((resolve, reject) => {
        tab.once("open", () => resolve());
        tab.once("unexpected-response", (_req, r) => reject(new Error(`HTTP ${r.statusCode}`)));
        tab.once("error", reject);
      });
      return { id, cookie, asked, tab };
    };
    const gone = (id: string) =>
      watchUntil<SandboxView>(
        client,
        paths.sandboxes(ns),
        { name: id, timeoutMs: 90_000 },
        ([s]) => s === undefined,
      ).then(() => Date.now());

    // The operator's own expiry: the launcher asks 15 s before expiresAt, so before deletion.
    const expiring = await launchWithTab(base);
    await client.mergePatch(`${paths.sandboxes(ns)}/${expiring.id}`, {
      spec: { expiresAt: new Date(Date.now() + 20_000).toISOString().replace(/\.\d+Z$/, "Z") },
    });
    const expiredAt = await gone(expiring.id);
    expect(expiring.asked).toHaveLength(1);
    expect(expiring.asked[0]!).toBeLessThan(expiredAt);

    // Expire from the attendee's page: asked before the Sandbox is deleted.
    const expired = await launchWithTab(base);
    const deletion = gone(expired.id);
    const res = await fetch(`${base}/api/sandboxes/${expired.id}`, {
      method: "DELETE",
      headers: { cookie: expired.cookie, origin: base },
    });
    expect(res.status).toBeLessThan(300);
    const deletedAt = await deletion;
    expect(expired.asked).toHaveLength(1);
    expect(expired.asked[0]!).toBeLessThan(deletedAt);
    expiring.tab.close();
    expired.tab.close();

    // Control: a launcher with the save bridge off (--save-open-documents-seconds 0) never
    // asks the tab; the sandbox goes all the same.
    const off = await startLauncher("attendees", { saveOpenDocumentsSeconds: 0 });
    const unasked = await launchWithTab(off.base);
    const offDeletion = gone(unasked.id);
    const offRes = await fetch(`${off.base}/api/sandboxes/${unasked.id}`, {
      method: "DELETE",
      headers: { cookie: unasked.cookie, origin: off.base },
    });
    expect(offRes.status).toBeLessThan(300);
    await offDeletion;
    expect(unasked.asked).toHaveLength(0);
    unasked.tab.close();
  });

  it("hands out a Ready warm-pool sandbox at once", async () => {
    const { app, base } = await startLauncher("warm");
    await expect
      .poll(() => app.launcher.backend.capacity().warmReady, { timeout: 60_000, interval: 250 })
      .toBeGreaterThanOrEqual(1);
    const cookie = await newAttendee(base);
    const started = Date.now();
    const res = await fetch(`${base}/api/sandboxes`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json", origin: base },
      body: "{}",
    });
    const body = await res.json();
    const clickToRedirectMs = Date.now() - started;
    expect(body).toMatchObject({
      outcome: "claimed",
      phase: "Ready",
      sandboxUrl: `/s/${body.id}/`,
    });
    // A claimed warm sandbox is Ready in the answer itself (asserted above); the time is
    // reported, not asserted (it depends on the machine).
    console.info(`warm claim: click → redirect ${clickToRedirectMs} ms`);
    const [object] = await watchUntil<SandboxView>(
      client,
      paths.sandboxes(ns),
      { name: body.id, timeoutMs: 30_000 },
      ([s]) => s?.spec.owner !== undefined,
    );
    expect(object!.metadata.labels?.["launchbay.dev/workshop"]).toBe("warm");
  });

  it("shows the attendee that their sandbox expired", async () => {
    if (!existsSync("/usr/bin/chromium"))
      throw new Error("/usr/bin/chromium is missing: run `bash scripts/setup.sh chromium`");
    const { base } = await startLauncher("attendees");
    browser = await launchChromium();
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${base}/`);
    await page.click("#launch");
    await page.waitForURL(/\/s\/sb-[a-z2-7]{20}\/$/, { timeout: 60_000 });
    const id = new URL(page.url()).pathname.split("/")[2]!;
    await expect.poll(() => page.textContent("#countdown")).toMatch(/^59m|^1h 00m/);
    expect(await page.isVisible("#expired")).toBe(false);
    // Time is up: the operator expires it (level-based) and the page says so.
    await client.mergePatch(`${paths.sandboxes(ns)}/${id}`, {
      spec: { expiresAt: new Date(Date.now() - 1000).toISOString() },
    });
    await page.waitForSelector("#expired:not(.hidden)", { timeout: 60_000 });
    expect(await page.textContent("#expired h1")).toBe("Your sandbox has expired");
    await watchUntil<SandboxView>(
      client,
      paths.sandboxes(ns),
      { name: id, timeoutMs: 60_000 },
      ([s]) => s === undefined,
    );
  });
});
