import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { launchChromium } from "../chromium.js";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildApp,
  createLocalBackend,
  defaultVenvDir,
  type LauncherApp,
  parseConfig,
  pidsWithEnvMarker,
  SANDBOX_ENV_MARKER,
} from "@launchbay/web";
import pino from "pino";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tslabNotebook } from "../tslab-notebook.js";

// The whole attendee flow in real Chromium against the launcher with the local backend:
// real scheduler, 3 workers and JupyterLab with the tslab kernel. Screenshots go to
// test-results/web/ (the README's copies live in web/docs/).
const CHROMIUM = "/usr/bin/chromium";
const ORGANISER = "organiser-token-browser-test-0123456789";
const shots = join(process.cwd(), "test-results", "web");

let app: LauncherApp;
let browser: Browser;
let base: string;
let port: number;
let sandboxesDir: string;
let sandboxId: string | undefined;

beforeAll(async () => {
  for (const [path, fix] of [
    [CHROMIUM, "bash scripts/setup.sh chromium"],
    [join(defaultVenvDir(), "bin", "jupyter-lab"), "bash scripts/setup.sh jupyter"],
  ] as const) {
    if (!existsSync(path)) throw new Error(`${path} is missing: run \`${fix}\` first`);
  }
  mkdirSync(shots, { recursive: true });
  sandboxesDir = mkdtempSync(join(tmpdir(), "lb-browser-"));
  const config = parseConfig({
    organiserToken: ORGANISER,
    logLevel: "warn",
    workshop: { title: "Parallel computing with launchbay", maxSandboxes: 10 },
    // Attendees' work is archived when their sandbox ends: kept inside this test's folder.
    local: { sandboxesDir, archivesDir: join(sandboxesDir, "archives") },
  });
  const log = pino({ level: "warn" });
  app = await buildApp({ config, backend: createLocalBackend(config, log), loggerInstance: log });
  await app.listen({ host: "127.0.0.1", port: 0 });
  port = (app.server.address() as AddressInfo).port;
  base = `http://localhost:${port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  if (sandboxId) expect(pidsWithEnvMarker(SANDBOX_ENV_MARKER, sandboxId)).toEqual([]);
  rmSync(sandboxesDir, { recursive: true, force: true });
});

describe("attendee in a real browser", () => {
  it("launches, watches progress, lands in JupyterLab and runs TypeScript on the sandbox's cluster", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await expect.poll(() => page.textContent("#capacity")).toContain("10 of 10 sandboxes left");
    await page.screenshot({ path: join(shots, "launch-page.png") });

    await page.click("#launch");
    await page.waitForSelector("#progress:not(.hidden)");
    await page.waitForSelector("#steps li.done");
    await page.screenshot({ path: join(shots, "progress-view.png") });

    await page.waitForURL(/\/s\/sb-[a-z2-7]{20}\/$/, { timeout: 120_000 });
    sandboxId = new URL(page.url()).pathname.split("/")[2];
    await expect.poll(() => page.textContent("#countdown")).toMatch(/^1h 59m|^2h 00m/);

    // "Open the notebook" hands the browser over to the sandbox's own origin in a new tab.
    await page.waitForSelector("#open:not(.hidden)");
    const [lab] = await Promise.all([context.waitForEvent("page"), page.click("#open")]);
    // It opens on the tutorial's first notebook (the server's default_url), not the Launcher.
    await lab.waitForURL(
      `http://${sandboxId}.localhost:${port}/s/${sandboxId}/notebook/lab/tree/01-map.ipynb`,
    );
    await lab.locator(".jp-Notebook .jp-MarkdownCell", { hasText: "1. Parallel map" }).waitFor();
    expect(await lab.locator(".jp-Launcher").count()).toBe(0);

    // A fresh notebook with one TypeScript cell, written through the proxy like JupyterLab does.
    const content = tslabNotebook([
      'import { Client, plot } from "launchbay";\nconst client = await Client.shared();\nconst f = client.submit((a: number, b: number) => a * b, 6, 7);\nconsole.log("answer from the cluster:", await f.result());\nplot.show(plot.timings({ sequential: 750, cluster: 300 }));',
    ]);
    const put = await lab.evaluate(
      async ({ id, content }) => {
        const res = await fetch(`/s/${id}/notebook/api/contents/check.ipynb`, {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            type: "notebook",
            content,
          }),
        });
        return res.status;
      },
      { id: sandboxId as string, content },
    );
    expect(put).toBe(201);

    await lab.goto(
      `http://${sandboxId}.localhost:${port}/s/${sandboxId}/notebook/lab/tree/check.ipynb`,
    );
    // This notebook's cell (01-map.ipynb, opened first, stays open in a hidden tab).
    const cell = lab.locator(".jp-Notebook .jp-CodeCell .cm-content", {
      hasText: "answer from the cluster",
    });
    await cell.waitFor({ timeout: 90_000 });
    // The status bar says "TypeScript | Idle" once the tslab kernel is up.
    await lab
      .getByText(/TypeScript \| Idle/)
      .first()
      .waitFor({ timeout: 90_000 });
    await cell.click();
    await lab.keyboard.press("Shift+Enter");
    await expect
      .poll(async () => (await lab.locator(".jp-OutputArea-output").allTextContents()).join("\n"), {
        timeout: 90_000,
      })
      .toContain("answer from the cluster: 42");
    // The client's dashboard link, clickable, to this sandbox's dashboard on the same origin.
    await expect(
      lab
        .locator(".jp-OutputArea-output a", { hasText: "launchbay dashboard" })
        .getAttribute("href"),
    ).resolves.toBe(`/s/${sandboxId}/dashboard/`);
    // plot.show's Vega-Lite output is drawn by JupyterLab itself (untrusted notebook, strict CSP).
    const chart = lab.locator(".jp-RenderedVegaLite").locator("svg, canvas").first();
    await chart.waitFor({ timeout: 30_000 });
    expect((await chart.boundingBox())?.width ?? 0).toBeGreaterThan(100);
    await lab.screenshot({ path: join(shots, "notebook.png") });

    // Extend adds time (up to the workshop's max lifetime).
    const before = await page.evaluate(
      async (id) => (await (await fetch(`/api/sandboxes/${id}`)).json()).expiresAt,
      sandboxId,
    );
    await page.click("#extend");
    await expect
      .poll(() =>
        page.evaluate(
          async (id) => (await (await fetch(`/api/sandboxes/${id}`)).json()).expiresAt,
          sandboxId,
        ),
      )
      .not.toBe(before);

    // Download my work: a zip with the tutorial notebooks and the new one.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
    expect(download.suggestedFilename()).toBe(`launchbay-${sandboxId}.zip`);
    await context.close();
  }, 300_000);

  it("keeps another attendee out of the first one's notebook and tells them nothing", async () => {
    expect(sandboxId).toBeDefined();
    const other = await browser.newContext();
    const page = await other.newPage();
    await page.goto(`${base}/`);
    const sandboxOrigin = `http://${sandboxId}.localhost:${port}`;
    const lab = await page.goto(`${sandboxOrigin}/s/${sandboxId}/notebook/lab`);
    expect(lab?.status()).toBe(404);
    const wrapper = await page.goto(`${base}/s/${sandboxId}/`);
    expect(wrapper?.status()).toBe(404);
    expect(await page.textContent("h1")).toBe("Nothing here");
    const open = await page.goto(`${base}/s/${sandboxId}/open/notebook`);
    expect(open?.status()).toBe(404);
    const handover = await page.goto(`${sandboxOrigin}/_launchbay/handover?token=x`);
    expect(handover?.status()).toBe(403);
    const api = await page.goto(`${sandboxOrigin}/s/${sandboxId}/notebook/api/contents`);
    expect(api?.status()).toBe(404);
    // A WebSocket handshake with everything this browser has (sent by hand) is refused too.
    const cookies = (await other.cookies([base, sandboxOrigin]))
      .map((c) => `${c.name}=${c.value}`)
      .join("; ");
    const ws = await new Promise<number>((resolve, reject) => {
      const req = request({
        host: "127.0.0.1",
        port,
        path: `/s/${sandboxId}/notebook/api/events/subscribe`,
        headers: {
          host: `${sandboxId}.localhost:${port}`,
          origin: sandboxOrigin,
          cookie: cookies,
          connection: "Upgrade",
          upgrade: "websocket",
          "sec-websocket-version": "13",
          "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("upgrade", (_res, socket) => {
        socket.destroy();
        resolve(101);
      });
      req.on("error", reject);
      req.end();
    });
    expect(ws).toBe(404);
    await other.close();
  });

  it("shows the organiser every sandbox on the admin page", async () => {
    const admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await admin.newPage();
    await page.goto(`${base}/admin`);
    await page.fill("#token", ORGANISER);
    await page.click("#sign-in");
    await page.waitForSelector(`tr[data-id="${sandboxId}"]`);
    expect(await page.textContent(`tr[data-id="${sandboxId}"] .phase-Ready`)).toBe("Ready");
    expect(await page.textContent("#used")).toBe("1");
    // Opening the attendee's notebook from here goes through the handover (attendee-scoped).
    expect(await page.getAttribute(`tr[data-id="${sandboxId}"] a`, "href")).toBe(
      `/s/${sandboxId}/open/notebook`,
    );
    await page.screenshot({ path: join(shots, "admin-page.png"), fullPage: true });
    await admin.close();
  });
});
