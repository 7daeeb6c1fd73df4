/**
 * Runtime endpoints refuse browsers: a web page must not reach a scheduler or a worker's
 * data port (drive-by code execution on a laptop: the class of Ray's CVE-2023-48022 and
 * Dask's CVE-2021-42343), and a tokenless scheduler must not answer a DNS-rebound name.
 * Real processes; the browser attacks run in real Chromium, beside Node-level ones that
 * forge the headers exactly. Each attack has a control that succeeds.
 */
import { launchChromium } from "../chromium.js";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Client } from "launchbay";
import type { Browser } from "playwright-core";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RuntimeProcess, runToExit, SCHEDULER_CLI, WORKER_CLI } from "./processes.js";

const CHROMIUM = "/usr/bin/chromium";
const EVIL = "https://evil.example";
const SANDBOX_ORIGIN = "https://sandbox-1.workshop.example";
const TOKEN = randomBytes(16).toString("hex");

const processes: RuntimeProcess[] = [];
const clients: Client[] = [];
const sockets: WebSocket[] = [];
let tokenless: { scheduler: string; worker: string };
let tokened: string;

async function spawn(label: string, script: string, args: string[]): Promise<string> {
  const proc = RuntimeProcess.spawn(label, script, [...args, "--log-level", "warn"]);
  processes.push(proc);
  return proc.firstLine();
}

beforeAll(async () => {
  const scheduler = await spawn("tokenless scheduler", SCHEDULER_CLI, ["--port", "0"]);
  const worker = await spawn("tokenless worker", WORKER_CLI, [scheduler, "--nthreads", "1"]);
  tokenless = { scheduler, worker };
  tokened = await spawn("scheduler with a token", SCHEDULER_CLI, [
    "--port",
    "0",
    "--token",
    TOKEN,
    "--allowed-origin",
    SANDBOX_ORIGIN,
  ]);
});

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(processes.map((p) => p.kill()));
});

interface Upgrade {
  status: number;
  body: string;
}

/** Opens a WebSocket with the given headers: resolves 101 when it opens, or the refusal. */
function upgrade(url: string, headers: Record<string, string>): Promise<Upgrade> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    sockets.push(ws);
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body });
        ws.on("error", () => {});
        ws.terminate();
      });
    });
    ws.on("open", () => {
      resolve({ status: 101, body: "" });
      ws.close();
    });
    ws.on("error", reject);
  });
}

/** A plain HTTP GET with a forged Host header. */
function get(url: string, headers: Record<string, string>): Promise<Upgrade> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const hostOf = (address: string) => new URL(address).host;
const portOf = (address: string) => new URL(address).port;

describe("runtime endpoints refuse browsers", () => {
  it("refuses a WebSocket from an unknown browser origin on a tokenless scheduler (drive-by code execution)", async () => {
    const attack = await upgrade(tokenless.scheduler, { origin: EVIL });
    expect(attack.status).toBe(403);
    expect(attack.body).toContain('browser origin "https://evil.example"');
    expect(attack.body).toContain("Without a token");
    // Control: launchbay's own client sends no Origin and runs code there.
    expect((await upgrade(tokenless.scheduler, {})).status).toBe(101);
    const client = await Client.connect(tokenless.scheduler);
    clients.push(client);
    expect(await client.submit((a: number, b: number) => a + b, 2, 3).result()).toBe(5);
  });

  it("refuses a WebSocket from a browser origin on a tokenless worker's data port", async () => {
    const attack = await upgrade(tokenless.worker, { origin: EVIL });
    expect(attack.status).toBe(403);
    expect((await upgrade(tokenless.worker, { origin: "null" })).status).toBe(403);
    // Control: a peer (no Origin header) is accepted.
    expect((await upgrade(tokenless.worker, {})).status).toBe(101);
  });

  it("refuses a browser origin that is not configured even with the token, and accepts the configured one", async () => {
    const evil = await upgrade(tokened, { origin: EVIL, authorization: `Bearer ${TOKEN}` });
    expect(evil.status).toBe(403);
    expect(evil.body).toContain("--allowed-origin");
    // Control: the configured origin with the token opens; without the token it is still 401.
    const allowed = await upgrade(`${tokened}/?token=${TOKEN}`, { origin: SANDBOX_ORIGIN });
    expect(allowed.status).toBe(101);
    expect((await upgrade(tokened, { origin: SANDBOX_ORIGIN })).status).toBe(401);
    expect((await upgrade(tokened, { authorization: `Bearer ${TOKEN}` })).status).toBe(101);
  });

  it("refuses a DNS-rebinding Host on a tokenless scheduler and worker (HTTP and WebSocket)", async () => {
    const rebound = `rebind.attacker.example:${portOf(tokenless.scheduler)}`;
    const ws = await upgrade(tokenless.scheduler, { host: rebound });
    expect(ws.status).toBe(403);
    expect(ws.body).toContain("not a loopback name");
    const status = await get(`${tokenless.scheduler.replace("ws:", "http:")}/api/status`, {
      host: rebound,
    });
    expect(status.status).toBe(403);
    expect(status.body).not.toContain("schedulerId");
    const workerRebound = `rebind.attacker.example:${portOf(tokenless.worker)}`;
    expect((await upgrade(tokenless.worker, { host: workerRebound })).status).toBe(403);
    // Control: the same requests addressed to 127.0.0.1 / localhost are answered.
    const ok = await get(`${tokenless.scheduler.replace("ws:", "http:")}/api/status`, {
      host: hostOf(tokenless.scheduler),
    });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).workers).toHaveLength(1);
    const local = `localhost:${portOf(tokenless.scheduler)}`;
    expect((await upgrade(tokenless.scheduler, { host: local })).status).toBe(101);
    expect((await upgrade(tokenless.worker, { host: hostOf(tokenless.worker) })).status).toBe(101);
  });

  it("refuses to start tokenless with --allowed-origin, and rejects a malformed origin", async () => {
    const unsafe = await runToExit(SCHEDULER_CLI, [
      "--port",
      "0",
      "--allowed-origin",
      SANDBOX_ORIGIN,
    ]);
    expect(unsafe.code).toBe(1);
    expect(unsafe.stderr).toContain("without a token");
    const bad = await runToExit(SCHEDULER_CLI, [
      "--port",
      "0",
      "--token",
      TOKEN,
      "--allowed-origin",
      "https://sandbox.example/path",
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--allowed-origin: expected an origin");
    const env = await runToExit(SCHEDULER_CLI, ["--port", "0", "--token", TOKEN], {
      LAUNCHBAY_ALLOWED_ORIGINS: `${SANDBOX_ORIGIN},ftp://x`,
    });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain("LAUNCHBAY_ALLOWED_ORIGINS");
  });
});

describe("runtime endpoints refuse browsers (real Chromium)", () => {
  let browser: Browser;
  let page: Server;
  let pageOrigin: string;
  let allowing: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: run \`bash scripts/setup.sh chromium\` first`);
    // The attacker's page: any site the user visits.
    page = createServer((_req, res) => {
      res
        .writeHead(200, { "content-type": "text/html" })
        .end("<!doctype html><title>a blog</title>");
    });
    await new Promise<void>((resolve) => page.listen(0, "127.0.0.1", resolve));
    pageOrigin = `http://localhost:${(page.address() as AddressInfo).port}`;
    allowing = await spawn("scheduler allowing the page's origin", SCHEDULER_CLI, [
      "--port",
      "0",
      "--token",
      TOKEN,
      "--allowed-origin",
      pageOrigin,
    ]);
    browser = await launchChromium([
      // DNS rebinding: the attacker's name resolves to this machine's loopback.
      "--host-resolver-rules=MAP rebind.attacker.example 127.0.0.1",
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => page?.close(resolve));
  });

  /** In the attacker's page: open a WebSocket, say hello, report what happened. */
  async function fromPage(target: string): Promise<string> {
    const tab = await browser.newPage();
    try {
      await tab.goto(`${pageOrigin}/`);
      // A string, not a function: the test file's own `WebSocket` import must not leak in.
      return await tab.evaluate(`new Promise((resolve) => {
        const ws = new WebSocket(${JSON.stringify(target)});
        ws.onopen = () => resolve("open");
        ws.onclose = (e) => resolve("closed " + e.code);
        setTimeout(() => resolve("timeout"), 10000);
      })`);
    } finally {
      await tab.close();
    }
  }

  it("refuses a WebSocket from a web page to a tokenless scheduler and worker (drive-by code execution)", async () => {
    expect(await fromPage(tokenless.scheduler)).toBe("closed 1006");
    expect(await fromPage(tokenless.worker)).toBe("closed 1006");
    // Control: a scheduler configured for the page's origin, with the token, lets it in.
    expect(await fromPage(`${allowing}/?token=${TOKEN}`)).toBe("open");
  });

  it("refuses a DNS-rebound page reading a tokenless scheduler's /api/status", async () => {
    const tab = await browser.newPage();
    try {
      const rebound = await tab.goto(
        `http://rebind.attacker.example:${portOf(tokenless.scheduler)}/api/status`,
      );
      expect(rebound?.status()).toBe(403);
      expect(await tab.content()).not.toContain("schedulerId");
      // Control: the same browser reading it as 127.0.0.1 gets the status.
      const direct = await tab.goto(`${tokenless.scheduler.replace("ws:", "http:")}/api/status`);
      expect(direct?.status()).toBe(200);
      expect(await tab.content()).toContain("schedulerId");
    } finally {
      await tab.close();
    }
  });
});
