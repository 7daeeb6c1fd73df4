import { createServer, type IncomingHttpHeaders, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import {
  buildFixture,
  type Fixture,
  newAttendee,
  ORGANISER_TOKEN,
} from "../testing/app-fixture.js";

let fx: Fixture;
let upstream: Server;
let upstreamWss: WebSocketServer;
let upstreamPort: number;
let port: number;
let alice: string;
let bob: string;
let id: string;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
}

beforeEach(async () => {
  upstream = createServer((req, res) => {
    if (req.url?.startsWith("/dashboard/login")) {
      res.writeHead(302, { location: "/dashboard/home" });
      res.end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "x-upstream": "yes" });
      res.end(
        JSON.stringify({
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
  });
  upstreamWss = new WebSocketServer({
    server: upstream,
    handleProtocols: (protocols) =>
      protocols.has("v1.kernel.websocket.jupyter.org") ? "v1.kernel.websocket.jupyter.org" : false,
  });
  upstreamWss.on("connection", (ws, req) => {
    ws.send(
      JSON.stringify({
        url: req.url,
        authorization: req.headers.authorization,
        cookie: req.headers.cookie ?? null,
      }),
    );
    ws.on("message", (data) => ws.send(`echo:${data.toString()}`));
  });
  upstreamPort = await listen(upstream);
  fx = await buildFixture();
  await fx.app.listen({ port: 0, host: "127.0.0.1" });
  port = (fx.app.server.address() as AddressInfo).port;
  alice = await newAttendee(fx.app);
  bob = await newAttendee(fx.app);
  id = await launchReady(alice);
});

/** Launches a sandbox for `cookie`, makes it Ready and points it at the fake upstream. */
async function launchReady(cookie: string): Promise<string> {
  const sandbox = (
    await fx.app.inject({ method: "POST", url: "/api/sandboxes", headers: { cookie }, payload: {} })
  ).json().id as string;
  await expect.poll(() => fx.backend.get(sandbox)).toBeDefined();
  fx.backend.ready(sandbox);
  fx.backend.setUpstream(sandbox, "notebook", {
    baseUrl: new URL(`http://127.0.0.1:${upstreamPort}/s/${sandbox}/notebook/`),
    headers: { authorization: "token notebook-secret" },
  });
  fx.backend.setUpstream(sandbox, "dashboard", {
    baseUrl: new URL(`http://127.0.0.1:${upstreamPort}/dashboard/`),
    headers: { authorization: "Bearer runtime-secret" },
  });
  return sandbox;
}

afterEach(async () => {
  await fx.app.close();
  for (const c of upstreamWss.clients) c.terminate();
  upstreamWss.close();
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});

/** One HTTP request over a real socket with the Host header we choose (fetch cannot set it). */
function send(
  path: string,
  options: {
    host?: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
  } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        headers: { host: options.host ?? `localhost:${port}`, ...options.headers },
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

const sandboxHost = (sandbox: string) => `${sandbox}.localhost:${port}`;

/** What the launcher hands over: the redirect to the sandbox origin with a one-time token. */
async function handoverUrl(cookie: string, sandbox = id): Promise<URL> {
  const res = await send(`/s/${sandbox}/open/notebook`, { headers: { cookie } });
  expect(res.status).toBe(303);
  return new URL(res.headers.location!);
}

/** The sandbox cookie the handover sets on the sandbox origin, as a Cookie header value. */
async function sandboxCookie(cookie: string, sandbox = id): Promise<string> {
  const url = await handoverUrl(cookie, sandbox);
  const res = await send(url.pathname + url.search, { host: url.host });
  expect(res.status).toBe(303);
  const set = [res.headers["set-cookie"] ?? []].flat().find((c) => c.startsWith("lb_sandbox="));
  expect(set).toBeDefined();
  return set!.split(";")[0]!;
}

function openWs(
  path: string,
  headers: Record<string, string>,
  protocols?: string[],
  host = sandboxHost(id),
) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, protocols, {
    headers: { host, ...headers },
  });
  return new Promise<{ ws: WebSocket; first: string }>((resolve, reject) => {
    ws.once("message", (data) => resolve({ ws, first: data.toString() }));
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once("error", reject);
  });
}

describe("sandbox origin and handover", () => {
  it("hands the owner over to the sandbox's own origin with a host-only, HttpOnly, Lax cookie", async () => {
    const url = await handoverUrl(alice);
    expect(url.origin).toBe(`http://${id}.localhost:${port}`);
    expect(url.pathname).toBe("/_launchbay/handover");
    const res = await send(url.pathname + url.search, { host: url.host });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/s/${id}/notebook/`);
    const set = [res.headers["set-cookie"] ?? []].flat();
    expect(set).toHaveLength(1);
    expect(set[0]).toMatch(/^lb_sandbox=/);
    expect(set[0]).toContain("HttpOnly");
    expect(set[0]).toContain("SameSite=Lax");
    expect(set[0]).not.toMatch(/domain=/i);
  });

  it("hands over to the dashboard when the dashboard is asked for", async () => {
    const open = await send(`/s/${id}/open/dashboard`, { headers: { cookie: alice } });
    expect(open.status).toBe(303);
    const url = new URL(open.headers.location!);
    const landed = await send(url.pathname + url.search, { host: url.host });
    expect(landed.status).toBe(303);
    expect(landed.headers.location).toBe(`/s/${id}/dashboard/`);
    const cookie = [landed.headers["set-cookie"] ?? []].flat()[0]!.split(";")[0]!;
    const page = await send(`/s/${id}/dashboard/`, { host: url.host, headers: { cookie } });
    expect(page.status).toBe(200);
  });

  it("a handover token works once", async () => {
    const url = await handoverUrl(alice);
    const first = await send(url.pathname + url.search, { host: url.host });
    expect(first.status).toBe(303);
    const again = await send(url.pathname + url.search, { host: url.host });
    expect(again.status).toBe(403);
    expect(JSON.parse(again.body).code).toBe("handover-refused");
    expect(again.headers["set-cookie"]).toBeUndefined();
  });

  it("refuses a handover token on another sandbox's origin, and a forged one", async () => {
    const other = await launchReady(bob);
    const url = await handoverUrl(alice);
    const elsewhere = await send(url.pathname + url.search, { host: sandboxHost(other) });
    expect(elsewhere.status).toBe(403);
    const forged = await send(`/_launchbay/handover?token=${url.searchParams.get("token")}x`, {
      host: url.host,
    });
    expect(forged.status).toBe(403);
    // Control: the untouched token still works where it belongs.
    expect((await send(url.pathname + url.search, { host: url.host })).status).toBe(303);
  });

  it("gives the organiser an attendee-scoped credential, never an organiser one", async () => {
    const res = await send(`/s/${id}/open/notebook`, {
      headers: { authorization: `Bearer ${ORGANISER_TOKEN}` },
    });
    expect(res.status).toBe(303);
    const url = new URL(res.headers.location!);
    const landed = await send(url.pathname + url.search, { host: url.host });
    const cookie = [landed.headers["set-cookie"] ?? []].flat()[0]!.split(";")[0]!;
    // The credential opens the attendee's notebook…
    expect(
      (await send(`/s/${id}/notebook/api/status`, { host: url.host, headers: { cookie } })).status,
    ).toBe(200);
    // …and is worth nothing on the launcher.
    const admin = await send("/api/admin/sandboxes", { headers: { cookie } });
    expect(admin.status).toBe(401);
  });

  it("an organiser cookie opens no sandbox", async () => {
    const login = await send("/admin/login", {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: `http://localhost:${port}`,
      },
      body: `token=${ORGANISER_TOKEN}`,
    });
    const organiser = [login.headers["set-cookie"] ?? []]
      .flat()
      .find((c) => c.startsWith("lb_organiser="))!
      .split(";")[0]!;
    // Control: the cookie is the organiser's on the launcher.
    expect((await send("/api/admin/sandboxes", { headers: { cookie: organiser } })).status).toBe(
      200,
    );
    for (const headers of [
      { cookie: organiser },
      { authorization: `Bearer ${ORGANISER_TOKEN}` },
      { cookie: `${organiser}; ${alice}` },
    ]) {
      const res = await send(`/s/${id}/notebook/api/contents`, { host: sandboxHost(id), headers });
      expect(res.status).toBe(404);
    }
    await expect(
      openWs(`/s/${id}/notebook/api/kernels/k1/channels`, {
        cookie: organiser,
        origin: `http://${sandboxHost(id)}`,
      }),
    ).rejects.toThrow("HTTP 404");
  });

  it("another attendee's sandbox origin refuses attendee A's sandbox cookie", async () => {
    const other = await launchReady(bob);
    const aliceSandbox = await sandboxCookie(alice);
    const res = await send(`/s/${other}/notebook/api/contents`, {
      host: sandboxHost(other),
      headers: { cookie: aliceSandbox },
    });
    expect(res.status).toBe(404);
    // Control: Bob's own sandbox cookie opens Bob's sandbox.
    const bobSandbox = await sandboxCookie(bob, other);
    const own = await send(`/s/${other}/notebook/api/contents`, {
      host: sandboxHost(other),
      headers: { cookie: bobSandbox },
    });
    expect(own.status).toBe(200);
  });

  it("serves no launcher route on a sandbox origin and no sandbox on the launcher origin", async () => {
    const cookie = await sandboxCookie(alice);
    const onSandbox = await send("/api/admin/sandboxes", {
      host: sandboxHost(id),
      headers: { authorization: `Bearer ${ORGANISER_TOKEN}`, cookie },
    });
    expect(onSandbox.status).toBe(404);
    expect((await send("/", { host: sandboxHost(id) })).status).toBe(404);
    const onLauncher = await send(`/s/${id}/notebook/lab`, {
      headers: { cookie: `${alice}; ${cookie}` },
    });
    expect(onLauncher.status).toBe(404);
  });
});

describe("host allow-list", () => {
  it("refuses a rebinding Host before routing, for requests and WebSocket upgrades", async () => {
    const evil = `rebind.attacker.example:${port}`;
    const launch = await send("/api/sandboxes", {
      method: "POST",
      host: evil,
      headers: { cookie: bob, origin: `http://${evil}`, "content-type": "application/json" },
      body: "{}",
    });
    expect(launch.status).toBe(421);
    expect(JSON.parse(launch.body).code).toBe("host-not-allowed");
    await expect(
      openWs(
        `/api/sandboxes/${id}/events`,
        { cookie: alice, origin: `http://${evil}` },
        undefined,
        evil,
      ),
    ).rejects.toThrow("HTTP 421");
    // A sandbox name under a domain that is not the sandbox domain is no sandbox origin.
    expect((await send("/", { host: `${id}.attacker.example:${port}` })).status).toBe(421);
    // Control: the configured host launches.
    const ok = await send("/api/sandboxes", {
      method: "POST",
      headers: {
        cookie: bob,
        origin: `http://localhost:${port}`,
        "content-type": "application/json",
      },
      body: "{}",
    });
    expect(ok.status).toBe(201);
  });
});

describe("authenticated reverse proxy", () => {
  it("proxies the owner's requests with the notebook token injected and launcher cookies stripped", async () => {
    const cookie = await sandboxCookie(alice);
    const res = await send(`/s/${id}/notebook/api/contents?x=1`, {
      host: sandboxHost(id),
      headers: {
        cookie: `${cookie}; ${alice}; _xsrf=abc`,
        authorization: "token attendee-should-not-pass",
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers["x-upstream"]).toBe("yes");
    expect(res.headers["content-security-policy"]).toContain("script-src 'self' 'unsafe-eval';");
    expect(res.headers["content-security-policy"]).toContain("frame-ancestors 'self'");
    const seen = JSON.parse(res.body);
    expect(seen.url).toBe(`/s/${id}/notebook/api/contents?x=1`);
    expect(seen.headers.authorization).toBe("token notebook-secret");
    expect(seen.headers.cookie).toBe("_xsrf=abc");
    expect(fx.backend.activity).toContain(id);
  });

  it("streams request bodies to the upstream", async () => {
    const cookie = await sandboxCookie(alice);
    const res = await send(`/s/${id}/notebook/api/contents/a.ipynb`, {
      method: "PUT",
      host: sandboxHost(id),
      headers: { cookie, "content-type": "application/json", origin: `http://${sandboxHost(id)}` },
      body: JSON.stringify({ type: "notebook", content: { cells: [] } }),
    });
    const seen = JSON.parse(res.body);
    expect(seen.method).toBe("PUT");
    expect(JSON.parse(seen.body)).toEqual({ type: "notebook", content: { cells: [] } });
    // The launcher's own origin may not write into the sandbox.
    const cross = await send(`/s/${id}/notebook/api/contents/a.ipynb`, {
      method: "PUT",
      host: sandboxHost(id),
      headers: { cookie, "content-type": "application/json", origin: `http://localhost:${port}` },
      body: "{}",
    });
    expect(cross.status).toBe(403);
  });

  it("forwards only the dashboard's own endpoints to the scheduler", async () => {
    const cookie = await sandboxCookie(alice);
    const host = sandboxHost(id);
    for (const [path, upstreamUrl] of [
      [`/s/${id}/dashboard/`, "/dashboard/"],
      [`/s/${id}/dashboard/data.json`, "/dashboard/data.json"],
      [`/s/${id}/dashboard/events?token=x`, "/dashboard/events"],
    ] as const) {
      const res = await send(path, { host, headers: { cookie } });
      expect(res.status).toBe(200);
      const seen = JSON.parse(res.body);
      expect(seen.url).toBe(upstreamUrl);
      expect(seen.headers.authorization).toBe("Bearer runtime-secret");
    }
    for (const path of [`/s/${id}/dashboard/status`, `/s/${id}/dashboard/login`]) {
      expect((await send(path, { host, headers: { cookie } })).status).toBe(404);
    }
    const post = await send(`/s/${id}/dashboard/data.json`, {
      method: "POST",
      host,
      headers: { cookie, origin: `http://${host}` },
    });
    expect(post.status).toBe(404);
    await expect(
      openWs(`/s/${id}/dashboard/events`, { cookie, origin: `http://${host}` }),
    ).rejects.toThrow("HTTP 404");
  });

  it("refuses .. and encoded .. in proxied dashboard and notebook paths", async () => {
    const cookie = await sandboxCookie(alice);
    const host = sandboxHost(id);
    // Control: the dashboard page itself loads.
    expect((await send(`/s/${id}/dashboard/`, { host, headers: { cookie } })).status).toBe(200);
    for (const path of [
      `/s/${id}/dashboard/../api/status`,
      `/s/${id}/dashboard/%2e%2e/api/status`,
      `/s/${id}/dashboard/%2E%2E/metrics`,
      `/s/${id}/dashboard/.%2e/api/status`,
      `/s/${id}/dashboard//api/status`,
      `/s/${id}/dashboard/..\\api\\status`,
      `/s/${id}/dashboard/..%2fapi%2fstatus`,
      `/s/${id}/notebook/../../dashboard/`,
      `/s/${id}/notebook/api/%2e%2e/%2e%2e/x`,
    ]) {
      const res = await send(path, { host, headers: { cookie } });
      expect(res.status, path).toBe(400);
      expect(JSON.parse(res.body).code).toBe("path-not-allowed");
    }
  });

  it("gives another attendee and an anonymous visitor the same 404 as a missing sandbox", async () => {
    const host = sandboxHost(id);
    const asBob = await send(`/s/${id}/notebook/lab`, { host, headers: { cookie: bob } });
    const anonymous = await send(`/s/${id}/notebook/lab`, { host });
    const missing = await send("/s/sb-aaaaaaaaaaaaaaaaaaaa/notebook/lab", {
      host: sandboxHost("sb-aaaaaaaaaaaaaaaaaaaa"),
    });
    expect([asBob.status, anonymous.status, missing.status]).toEqual([404, 404, 404]);
    expect(new Set([asBob.body, anonymous.body, missing.body]).size).toBe(1);
    expect((await send(`/s/${id}/`, { headers: { cookie: bob } })).status).toBe(404);
    expect((await send(`/s/${id}/open/notebook`, { headers: { cookie: bob } })).status).toBe(404);
  });

  it("answers 502 with a JSON error when the sandbox's service is down", async () => {
    const cookie = await sandboxCookie(alice);
    fx.backend.setUpstream(id, "notebook", {
      baseUrl: new URL(`http://127.0.0.1:1/s/${id}/notebook/`),
      headers: {},
    });
    const res = await send(`/s/${id}/notebook/lab`, { host: sandboxHost(id), headers: { cookie } });
    expect(res.status).toBe(502);
    expect(JSON.parse(res.body).code).toBe("upstream-unavailable");
  });

  it("answers 409 while the sandbox is still starting", async () => {
    const cookie = await sandboxCookie(alice);
    fx.backend.update(id, { phase: "Provisioning" });
    const res = await send(`/s/${id}/notebook/lab`, { host: sandboxHost(id), headers: { cookie } });
    expect(res.status).toBe(409);
    expect(JSON.parse(res.body).code).toBe("sandbox-not-ready");
  });

  it("tunnels the owner's WebSocket with the Jupyter subprotocol and the token injected", async () => {
    const cookie = await sandboxCookie(alice);
    const { ws, first } = await openWs(
      `/s/${id}/notebook/api/kernels/k1/channels`,
      { cookie, origin: `http://${sandboxHost(id)}` },
      ["v1.kernel.websocket.jupyter.org"],
    );
    expect(ws.protocol).toBe("v1.kernel.websocket.jupyter.org");
    expect(JSON.parse(first)).toEqual({
      url: `/s/${id}/notebook/api/kernels/k1/channels`,
      authorization: "token notebook-secret",
      cookie: null,
    });
    const echo = new Promise<string>((r) => ws.once("message", (d) => r(d.toString())));
    ws.send("hello");
    expect(await echo).toBe("echo:hello");
    ws.close();
  });

  it("refuses WebSocket upgrades from other attendees and other origins", async () => {
    const cookie = await sandboxCookie(alice);
    const origin = `http://${sandboxHost(id)}`;
    await expect(
      openWs(`/s/${id}/notebook/api/kernels/k1/channels`, { cookie: bob, origin }),
    ).rejects.toThrow("HTTP 404");
    for (const evil of ["https://evil.example", `http://localhost:${port}`]) {
      await expect(
        openWs(`/s/${id}/notebook/api/kernels/k1/channels`, { cookie, origin: evil }),
      ).rejects.toThrow("HTTP 403");
    }
    // (WebSocket clients normalise %2e%2e away; a raw handshake sends it as is.)
    const raw = await send(`/s/${id}/notebook/api/%2e%2e/x`, {
      host: sandboxHost(id),
      headers: {
        cookie,
        origin,
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      },
    });
    expect(raw.status).toBe(400);
    await expect(openWs("/elsewhere", { cookie, origin })).rejects.toThrow("HTTP 404");
    // The launcher origin tunnels nothing to sandboxes.
    await expect(
      openWs(
        `/s/${id}/notebook/api/kernels/k1/channels`,
        { cookie: alice, origin: `http://localhost:${port}` },
        undefined,
        `localhost:${port}`,
      ),
    ).rejects.toThrow("HTTP 404");
  });
});

describe("save bridge", () => {
  /** Opens `/s/<sandbox>/save-bridge` as a JupyterLab tab would; rejects with the HTTP status. */
  function openBridge(headers: Record<string, string>, host = sandboxHost(id), sandbox = id) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/s/${sandbox}/save-bridge`, {
      headers: { host, ...headers },
    });
    return new Promise<WebSocket>((resolve, reject) => {
      ws.once("open", () => resolve(ws));
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once("error", reject);
    });
  }

  it("only the sandbox's own origin with its cookie connects a tab; the launcher asks it to save", async () => {
    const cookie = await sandboxCookie(alice);
    const origin = `http://${sandboxHost(id)}`;
    // Refused: no cookie, another attendee's, another origin, the launcher's origin.
    await expect(openBridge({ origin })).rejects.toThrow("HTTP 404");
    await expect(openBridge({ cookie: bob, origin })).rejects.toThrow("HTTP 404");
    for (const evil of ["https://evil.example", `http://localhost:${port}`]) {
      await expect(openBridge({ cookie, origin: evil })).rejects.toThrow("HTTP 403");
    }
    await expect(
      openBridge({ cookie: alice, origin: `http://localhost:${port}` }, `localhost:${port}`),
    ).rejects.toThrow("HTTP 404");
    expect(fx.app.launcher.saveBridge.connected(id)).toBe(0);

    // Control: the tab of the sandbox itself.
    const tab = await openBridge({ cookie, origin });
    tab.on("message", (data) => {
      const { request } = JSON.parse(data.toString()) as { request: number };
      tab.send(JSON.stringify({ type: "saved", request, saved: 1, failed: 0 }));
    });
    await expect.poll(() => fx.app.launcher.saveBridge.connected(id)).toBe(1);
    expect(await fx.app.launcher.saveBridge.saveAll(id, 30_000)).toEqual({
      tabs: 1,
      answered: 1,
      saved: 1,
      failed: 0,
    });
    tab.close();
  });
});

describe("progress stream", () => {
  it("sends the owner the sandbox now and on every change", async () => {
    fx.backend.update(id, {
      phase: "Provisioning",
      conditions: [],
      workers: { ready: 1, desired: 3 },
    });
    const { ws, first } = await openWs(
      `/api/sandboxes/${id}/events`,
      { cookie: alice, origin: `http://localhost:${port}` },
      undefined,
      `localhost:${port}`,
    );
    expect(JSON.parse(first).sandbox).toMatchObject({
      id,
      phase: "Provisioning",
      headline: "Starting the scheduler",
    });
    const next = new Promise<string>((r) => ws.once("message", (d) => r(d.toString())));
    fx.backend.ready(id);
    expect(JSON.parse(await next).sandbox).toMatchObject({
      phase: "Ready",
      sandboxUrl: `/s/${id}/`,
    });
    const gone = new Promise<string>((r) => ws.once("message", (d) => r(d.toString())));
    await fx.backend.delete(id);
    expect(JSON.parse(await gone).type).toBe("gone");
    ws.close();
  });

  it("refuses the stream to anyone but the owner", async () => {
    const launcher = `localhost:${port}`;
    const origin = `http://${launcher}`;
    await expect(
      openWs(`/api/sandboxes/${id}/events`, { cookie: bob, origin }, undefined, launcher),
    ).rejects.toThrow("HTTP 404");
    await expect(openWs(`/api/sandboxes/${id}/events`, {}, undefined, launcher)).rejects.toThrow(
      "HTTP 404",
    );
  });
});

describe("pages", () => {
  it("serves the launch, sandbox and admin pages with a strict CSP and escaped titles", async () => {
    await fx.app.close();
    fx = await buildFixture({ workshop: { title: 'Dask <script>alert("x")</script>' } });
    const page = await fx.app.inject({ url: "/" });
    expect(page.body).toContain("Dask &lt;script&gt;");
    expect(page.body).not.toContain("<script>alert");
    expect(page.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    const js = await fx.app.inject({ url: "/static/launch.js" });
    expect(js.headers["content-type"]).toContain("javascript");
    expect((await fx.app.inject({ url: "/static/../package.json" })).statusCode).toBe(404);
    expect((await fx.app.inject({ url: "/static/nope.js" })).statusCode).toBe(404);
  });

  it("serves the sandbox page to its owner only", async () => {
    const own = await send(`/s/${id}/`, { headers: { cookie: alice } });
    expect(own.status).toBe(200);
    const html = own.body;
    expect(html).toContain(`data-id="${id}"`);
    expect(html).toContain("Download my work");
    expect(html).toContain("Extend");
    expect(html).toContain(`href="/s/${id}/open/notebook"`);
    expect(html).not.toContain("<iframe");
  });
});
