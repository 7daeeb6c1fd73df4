import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { launchChromium } from "../chromium.js";
import { type IncomingHttpHeaders, request } from "node:http";
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
import type { Browser, BrowserContext, Page, Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Attacks on the sandbox origins, in real Chromium against the launcher with the local
// backend (real scheduler, workers and JupyterLab). The tests only use what the launcher's
// API says (notebookUrl, dashboardUrl) and where the browser lands, so each one also runs
// against a launcher that serves sandboxes on its own origin (and fails there).
const CHROMIUM = "/usr/bin/chromium";
const ORGANISER = "organiser-token-origin-test-0123456789";

let app: LauncherApp;
let browser: Browser;
let port: number;
let base: string;
let sandboxesDir: string;
let attendee: BrowserContext;
let attendeePage: Page;
/** Attendee A's tab on the launcher (the API lives there, not on the sandbox origin). */
let launcherPage: Page;
let sandboxId: string;
/** Where the notebook landed (JupyterLab's /lab URL), whatever origin that is. */
let labUrl: URL;
const TUTORIAL_START = /\/notebook\/lab\/tree\/01-map\.ipynb$/;

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTTP request over a raw socket: the path goes out exactly as written, Host as given. */
function raw(
  path: string,
  options: { host: string; method?: string; headers?: Record<string, string>; body?: string },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        headers: { host: options.host, ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** The Cookie header this browser context would send to `url`. */
async function cookieHeader(context: BrowserContext, url: string): Promise<string> {
  return (await context.cookies(url)).map((c) => `${c.name}=${c.value}`).join("; ");
}

async function apiSandbox(page: Page, id: string) {
  return page.evaluate(async (sid) => (await fetch(`/api/sandboxes/${sid}`)).json(), id);
}

/** Signs an organiser in on the launcher's admin page, in a fresh context. */
async function organiserContext(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/admin`);
  await page.fill("#token", ORGANISER);
  await page.click("#sign-in");
  await page.waitForSelector(`tr[data-id="${sandboxId}"]`);
  return { context, page };
}

beforeAll(async () => {
  for (const [path, fix] of [
    [CHROMIUM, "bash scripts/setup.sh chromium"],
    [join(defaultVenvDir(), "bin", "jupyter-lab"), "bash scripts/setup.sh jupyter"],
  ] as const) {
    if (!existsSync(path)) throw new Error(`${path} is missing: run \`${fix}\` first`);
  }
  sandboxesDir = mkdtempSync(join(tmpdir(), "lb-origin-"));
  const config = parseConfig({
    organiserToken: ORGANISER,
    logLevel: "warn",
    workshop: { maxSandboxes: 4 },
    local: { sandboxesDir },
  });
  const log = pino({ level: "warn" });
  app = await buildApp({ config, backend: createLocalBackend(config, log), loggerInstance: log });
  await app.listen({ host: "127.0.0.1", port: 0 });
  port = (app.server.address() as AddressInfo).port;
  base = `http://localhost:${port}`;
  browser = await launchChromium();

  // Attendee A launches and opens the notebook wherever the launcher sends them.
  attendee = await browser.newContext();
  attendeePage = await attendee.newPage();
  await attendeePage.goto(`${base}/`);
  sandboxId = await attendeePage.evaluate(async () => {
    const res = await fetch("/api/sandboxes", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    return (await res.json()).id as string;
  });
  // The launcher's progress stream says when the sandbox is Ready.
  const phase = await attendeePage.evaluate(
    (id) =>
      new Promise<string>((resolve) => {
        const socket = new WebSocket(`ws://${location.host}/api/sandboxes/${id}/events`);
        socket.onmessage = (event) => {
          const msg = JSON.parse(event.data);
          const p = msg.type === "sandbox" ? msg.sandbox.phase : "Gone";
          if (p === "Ready" || p === "Failed" || p === "Gone") {
            socket.close();
            resolve(p);
          }
        };
        socket.onerror = () => resolve("stream refused");
      }),
    sandboxId,
  );
  if (phase !== "Ready") throw new Error(`the sandbox did not start: ${phase}`);
  launcherPage = await attendee.newPage();
  await launcherPage.goto(`${base}/s/${sandboxId}/`);
  const { notebookUrl } = await apiSandbox(launcherPage, sandboxId);
  await attendeePage.goto(new URL(notebookUrl, base).href);
  // Sandboxes open on the tutorial's first notebook (Jupyter's default_url).
  await attendeePage.waitForURL(TUTORIAL_START);
  labUrl = new URL(attendeePage.url().replace(TUTORIAL_START, "/notebook/lab"));
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  if (sandboxId) expect(pidsWithEnvMarker(SANDBOX_ENV_MARKER, sandboxId)).toEqual([]);
  rmSync(sandboxesDir, { recursive: true, force: true });
});

describe("sandbox origins under attack", () => {
  it("launcher cookies never reach a sandbox origin", async () => {
    const seen: string[] = [];
    const pending: Promise<void>[] = [];
    const record = (req: Request) => {
      if (!new URL(req.url()).pathname.includes("/notebook/")) return;
      pending.push(
        req.allHeaders().then(
          (h) => void seen.push(h.cookie ?? ""),
          () => undefined,
        ),
      );
    };
    attendeePage.on("request", record);
    await attendeePage.goto(new URL("tree", `${labUrl.href}/`).href);
    await attendeePage.locator(".jp-DirListing").first().waitFor({ timeout: 90_000 });
    attendeePage.off("request", record);
    await Promise.all(pending);
    expect(seen.length).toBeGreaterThan(0);
    for (const cookie of seen) {
      expect(cookie).not.toContain("lb_attendee=");
      expect(cookie).not.toContain("lb_organiser=");
    }
    // The notebook is not on the launcher's origin, and the launcher's cookie is host-only.
    expect(labUrl.origin).not.toBe(new URL(base).origin);
    const launcherCookie = (await attendee.cookies(base)).find((c) => c.name === "lb_attendee");
    expect(launcherCookie?.domain).toBe("localhost");
    // Control: the sandbox origin did get its own credential.
    expect(seen.some((c) => c.includes("lb_sandbox="))).toBe(true);
  });

  it("a trusted notebook's script from an attendee does not run with organiser rights", async () => {
    // Attendee A saves a notebook that says it is trusted, with an HTML output whose script
    // calls the launcher's admin API with the viewer's cookies and records the answer.
    const evil = {
      type: "notebook",
      content: {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {
          trusted: true,
          kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" },
        },
        cells: [
          {
            cell_type: "code",
            id: "evil-cell",
            metadata: { trusted: true },
            execution_count: 1,
            source: "// nothing to see",
            outputs: [
              {
                output_type: "display_data",
                metadata: {},
                data: {
                  "text/html": [
                    '<b id="evil-marker">quarterly results</b>',
                    "<script>",
                    "window.__attack = 'started';",
                    "fetch('/api/admin/sandboxes', { credentials: 'include' })",
                    "  .then((r) => { window.__attack = r.status; })",
                    "  .catch(() => { window.__attack = 'failed'; });",
                    "</script>",
                  ].join("\n"),
                },
              },
            ],
          },
        ],
      },
    };
    const contents = new URL("api/contents/evil.ipynb", labUrl.href.replace(/lab$/, "")).pathname;
    const put = await attendeePage.evaluate(
      async ([path, body]) =>
        (
          await fetch(path as string, {
            method: "PUT",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          })
        ).status,
      [contents, evil] as const,
    );
    expect(put).toBe(201);

    // The organiser signs in and opens the attendee's notebook from the sandbox's page.
    const { context, page } = await organiserContext();
    // Control: the organiser's own admin page can call the admin API.
    expect(
      await page.evaluate(
        async () => (await fetch("/api/admin/sandboxes", { credentials: "include" })).status,
      ),
    ).toBe(200);
    const { notebookUrl } = await apiSandbox(page, sandboxId);
    const opened = await context.newPage();
    await opened.goto(new URL(notebookUrl, base).href);
    await opened.waitForURL(TUTORIAL_START);
    await opened.goto(new URL("tree/evil.ipynb", `${labUrl.href}/`).href);
    await opened.getByText("quarterly results").first().waitFor({ timeout: 90_000 });
    await opened.screenshot({
      path: join(process.cwd(), "test-results", "web", "trusted-notebook.png"),
    });
    // A script that runs sets 'started' at once, then the status; one that never ran leaves nothing.
    const outcome = await opened.evaluate(
      () =>
        new Promise<unknown>((resolve) => {
          const w = window as unknown as { __attack?: unknown };
          const check = () =>
            w.__attack === "started" ? setTimeout(check, 50) : resolve(w.__attack ?? "not run");
          check();
        }),
    );
    expect(outcome).not.toBe(200);
    await context.close();
  });

  it("an organiser cookie opens no sandbox", async () => {
    const { context, page } = await organiserContext();
    const organiserCookies = await cookieHeader(context, base);
    expect(organiserCookies).toContain("lb_organiser=");
    // Control: the cookie is the organiser's on the launcher.
    expect(await page.evaluate(async () => (await fetch("/api/admin/sandboxes")).status)).toBe(200);
    // Sent to the sandbox's notebook (even by hand), it opens nothing.
    const contents = new URL("api/contents", labUrl.href.replace(/lab$/, "")).pathname;
    const res = await raw(contents, { host: labUrl.host, headers: { cookie: organiserCookies } });
    expect(res.status).toBe(404);
    // Control: attendee A's own credential for that origin does open it.
    const own = await raw(contents, {
      host: labUrl.host,
      headers: { cookie: await cookieHeader(attendee, labUrl.href) },
    });
    expect(own.status).toBe(200);
    await context.close();
  });

  it("refuses .. and encoded .. in proxied dashboard paths", async () => {
    const { dashboardUrl } = await apiSandbox(launcherPage, sandboxId);
    const dashboard = await attendee.newPage();
    const landed = await dashboard.goto(new URL(dashboardUrl, base).href);
    // Control: the dashboard page itself loads.
    expect(landed?.status()).toBe(200);
    expect(await dashboard.title()).toMatch(/launchbay scheduler/i);
    // …and works under the sandbox origin's CSP: its script streams the cluster's 3 workers.
    await expect.poll(() => dashboard.locator("#workers tr").count(), { timeout: 30_000 }).toBe(3);
    expect(await dashboard.textContent("#conn")).toMatch(/^live/);
    const url = new URL(dashboard.url());
    const cookie = await cookieHeader(attendee, url.href);
    for (const attack of [
      "../api/status",
      "%2e%2e/api/status",
      "%2E%2E/metrics",
      "..%2fapi/status",
    ]) {
      const res = await raw(`${url.pathname}${attack}`, { host: url.host, headers: { cookie } });
      expect(res.status, attack).toBe(400);
      expect(res.body).not.toContain("schedulerId");
    }
    await dashboard.close();
  });

  it("refuses a rebinding Host", async () => {
    const other = await browser.newContext();
    const page = await other.newPage();
    await page.goto(`${base}/`);
    const cookie = await cookieHeader(other, base);
    const evil = `rebind.attacker.example:${port}`;
    const res = await raw("/api/sandboxes", {
      method: "POST",
      host: evil,
      headers: { cookie, origin: `http://${evil}`, "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(421);
    expect(JSON.parse(res.body).code).toBe("host-not-allowed");
    // Nothing was launched for it.
    const workshop = await page.evaluate(async () => (await fetch("/api/workshop")).json());
    expect(workshop.sandbox ?? null).toBeNull();
    // Control: the configured host answers the same request (an invalid body: 400, routed).
    const control = await raw("/api/sandboxes", {
      method: "POST",
      host: `localhost:${port}`,
      headers: { cookie, origin: base, "content-type": "application/json" },
      body: '{"unexpected":1}',
    });
    expect(control.status).toBe(400);
    await other.close();
  });
});
