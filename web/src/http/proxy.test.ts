import { createServer, type Server } from "node:http";
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
let base: string;
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
  base = `http://127.0.0.1:${(fx.app.server.address() as AddressInfo).port}`;
  alice = await newAttendee(fx.app);
  bob = await newAttendee(fx.app);
  id = (
    await fx.app.inject({
      method: "POST",
      url: "/api/sandboxes",
      headers: { cookie: alice },
      payload: {},
    })
  ).json().id;
  await expect.poll(() => fx.backend.get(id)).toBeDefined();
  fx.backend.ready(id);
  fx.backend.setUpstream(id, "notebook", {
    baseUrl: new URL(`http://127.0.0.1:${upstreamPort}/s/${id}/notebook/`),
    headers: { authorization: "token notebook-secret" },
  });
  fx.backend.setUpstream(id, "dashboard", {
    baseUrl: new URL(`http://127.0.0.1:${upstreamPort}/dashboard/`),
    headers: { authorization: "Bearer runtime-secret" },
  });
});

afterEach(async () => {
  await fx.app.close();
  for (const c of upstreamWss.clients) c.terminate();
  upstreamWss.close();
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});

function openWs(path: string, headers: Record<string, string>, protocols?: string[]) {
  const ws = new WebSocket(`${base.replace("http", "ws")}${path}`, protocols, { headers });
  return new Promise<{ ws: WebSocket; first: string }>((resolve, reject) => {
    ws.once("message", (data) => resolve({ ws, first: data.toString() }));
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once("error", reject);
  });
}

describe("authenticated reverse proxy", () => {
  it("proxies the owner's requests with the notebook token injected and launcher cookies stripped", async () => {
    const res = await fetch(`${base}/s/${id}/notebook/api/contents?x=1`, {
      headers: { cookie: `${alice}; _xsrf=abc`, authorization: "token attendee-should-not-pass" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-upstream")).toBe("yes");
    const seen = await res.json();
    expect(seen.url).toBe(`/s/${id}/notebook/api/contents?x=1`);
    expect(seen.headers.authorization).toBe("token notebook-secret");
    expect(seen.headers.cookie).toBe("_xsrf=abc");
    expect(fx.backend.activity).toContain(id);
  });

  it("streams request bodies to the upstream", async () => {
    const res = await fetch(`${base}/s/${id}/notebook/api/contents/a.ipynb`, {
      method: "PUT",
      headers: { cookie: alice, "content-type": "application/json", origin: base },
      body: JSON.stringify({ type: "notebook", content: { cells: [] } }),
    });
    const seen = await res.json();
    expect(seen.method).toBe("PUT");
    expect(JSON.parse(seen.body)).toEqual({ type: "notebook", content: { cells: [] } });
  });

  it("maps the dashboard onto the scheduler's path and rewrites its redirects", async () => {
    const res = await fetch(`${base}/s/${id}/dashboard/status`, { headers: { cookie: alice } });
    const seen = await res.json();
    expect(seen.url).toBe("/dashboard/status");
    expect(seen.headers.authorization).toBe("Bearer runtime-secret");
    const redirect = await fetch(`${base}/s/${id}/dashboard/login`, {
      headers: { cookie: alice },
      redirect: "manual",
    });
    expect(redirect.headers.get("location")).toBe(`/s/${id}/dashboard/home`);
  });

  it("gives another attendee and an anonymous visitor the same 404 as a missing sandbox", async () => {
    const asBob = await fetch(`${base}/s/${id}/notebook/lab`, { headers: { cookie: bob } });
    const anonymous = await fetch(`${base}/s/${id}/notebook/lab`);
    const missing = await fetch(`${base}/s/sb-aaaaaaaaaaaaaaaaaaaa/notebook/lab`, {
      headers: { cookie: bob },
    });
    expect([asBob.status, anonymous.status, missing.status]).toEqual([404, 404, 404]);
    const bodies = await Promise.all([asBob.text(), anonymous.text(), missing.text()]);
    expect(new Set(bodies).size).toBe(1);
    const page = await fetch(`${base}/s/${id}/`, { headers: { cookie: bob } });
    expect(page.status).toBe(404);
  });

  it("lets the organiser through", async () => {
    const res = await fetch(`${base}/s/${id}/notebook/api/status`, {
      headers: { authorization: `Bearer ${ORGANISER_TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect((await res.json()).headers.authorization).toBe("token notebook-secret");
  });

  it("answers 502 with a JSON error when the sandbox's service is down", async () => {
    fx.backend.setUpstream(id, "notebook", {
      baseUrl: new URL(`http://127.0.0.1:1/s/${id}/notebook/`),
      headers: {},
    });
    const res = await fetch(`${base}/s/${id}/notebook/lab`, { headers: { cookie: alice } });
    expect(res.status).toBe(502);
    expect((await res.json()).code).toBe("upstream-unavailable");
  });

  it("answers 409 while the sandbox is still starting", async () => {
    fx.backend.update(id, { phase: "Provisioning" });
    const res = await fetch(`${base}/s/${id}/notebook/lab`, { headers: { cookie: alice } });
    expect(res.status).toBe(409);
    expect((await res.json()).code).toBe("sandbox-not-ready");
  });

  it("tunnels the owner's WebSocket with the Jupyter subprotocol and the token injected", async () => {
    const { ws, first } = await openWs(
      `/s/${id}/notebook/api/kernels/k1/channels`,
      { cookie: alice, origin: base },
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
    await expect(
      openWs(`/s/${id}/notebook/api/kernels/k1/channels`, { cookie: bob, origin: base }),
    ).rejects.toThrow("HTTP 404");
    await expect(
      openWs(`/s/${id}/notebook/api/kernels/k1/channels`, {
        cookie: alice,
        origin: "https://evil.example",
      }),
    ).rejects.toThrow("HTTP 403");
    await expect(openWs("/elsewhere", { cookie: alice, origin: base })).rejects.toThrow("HTTP 404");
  });
});

describe("progress stream", () => {
  it("sends the owner the sandbox now and on every change", async () => {
    fx.backend.update(id, {
      phase: "Provisioning",
      conditions: [],
      workers: { ready: 1, desired: 3 },
    });
    const { ws, first } = await openWs(`/api/sandboxes/${id}/events`, {
      cookie: alice,
      origin: base,
    });
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
    await expect(
      openWs(`/api/sandboxes/${id}/events`, { cookie: bob, origin: base }),
    ).rejects.toThrow("HTTP 404");
    await expect(openWs(`/api/sandboxes/${id}/events`, {})).rejects.toThrow("HTTP 404");
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
    const own = await fetch(`${base}/s/${id}/`, { headers: { cookie: alice } });
    expect(own.status).toBe(200);
    const html = await own.text();
    expect(html).toContain(`data-id="${id}"`);
    expect(html).toContain("Download my work");
    expect(html).toContain("Extend");
  });
});
