import { afterEach, describe, expect, it } from "vitest";
import {
  buildFixture,
  type Fixture,
  newAttendee,
  ORGANISER_TOKEN,
} from "../testing/app-fixture.js";

let fx: Fixture;
afterEach(async () => {
  await fx?.app.close();
});

async function launch(cookie: string, body: unknown = {}) {
  return fx.app.inject({
    method: "POST",
    url: "/api/sandboxes",
    headers: { cookie },
    payload: body as object,
  });
}

describe("attendee API", () => {
  it("issues a signed HttpOnly SameSite identity cookie on the first visit", async () => {
    fx = await buildFixture();
    const res = await fx.app.inject({ method: "GET", url: "/" });
    expect(res.statusCode).toBe(200);
    const cookie = res.cookies.find((c) => c.name === "lb_attendee")!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe("Lax");
    expect(cookie.value).toMatch(/\./); // signed
    expect(res.headers["content-security-policy"]).toContain("script-src 'self'");
  });

  it("marks the identity cookie Secure behind a TLS-terminating proxy", async () => {
    fx = await buildFixture({ trustProxy: 1 });
    const res = await fx.app.inject({
      method: "GET",
      url: "/",
      headers: { "x-forwarded-proto": "https" },
    });
    expect(res.cookies.find((c) => c.name === "lb_attendee")!.secure).toBe(true);
    expect(res.headers["strict-transport-security"]).toBeDefined();
  });

  it("launches a sandbox and reports it queued, then starting, then Ready with URLs", async () => {
    fx = await buildFixture();
    const cookie = await newAttendee(fx.app);
    const res = await launch(cookie);
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.id).toMatch(/^sb-[a-z2-7]{20}$/);
    expect(["Queued", "Pending"]).toContain(body.phase);
    expect(body.notebookUrl).toBeNull();
    await expect.poll(() => fx.backend.get(body.id)?.phase).toBe("Pending");
    fx.backend.update(body.id, {
      phase: "Provisioning",
      workers: { ready: 2, desired: 3 },
      conditions: [{ type: "SchedulerReady", status: "True" }],
    });
    const starting = (
      await fx.app.inject({ url: `/api/sandboxes/${body.id}`, headers: { cookie } })
    ).json();
    expect(starting.headline).toBe("Starting 3 workers (2/3 ready)");
    fx.backend.ready(body.id);
    const ready = (
      await fx.app.inject({ url: `/api/sandboxes/${body.id}`, headers: { cookie } })
    ).json();
    expect(ready).toMatchObject({
      id: body.id,
      phase: "Ready",
      notebookUrl: `/s/${body.id}/open/notebook`,
      dashboardUrl: `/s/${body.id}/open/dashboard`,
      sandboxUrl: `/s/${body.id}/`,
    });
    expect(Date.parse(ready.expiresAt)).toBe(fx.clock.now + 120 * 60_000);
  });

  it("gives a returning attendee their existing sandbox instead of a new one", async () => {
    fx = await buildFixture();
    const cookie = await newAttendee(fx.app);
    const first = (await launch(cookie)).json();
    const again = await launch(cookie);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ id: first.id, outcome: "existing" });
    expect(fx.backend.created).toHaveLength(1);
    const me = (await fx.app.inject({ url: "/api/workshop", headers: { cookie } })).json();
    expect(me.mySandbox).toBe(first.id);
  });

  it("issues an identity on launch when the attendee skipped the page", async () => {
    fx = await buildFixture();
    const res = await fx.app.inject({ method: "POST", url: "/api/sandboxes", payload: {} });
    expect(res.statusCode).toBe(201);
    expect(res.cookies.some((c) => c.name === "lb_attendee")).toBe(true);
  });

  it("ignores a forged identity cookie and issues a fresh one", async () => {
    fx = await buildFixture();
    const res = await fx.app.inject({
      method: "GET",
      url: "/api/me",
      headers: { cookie: "lb_attendee=someone-else" },
    });
    expect(res.json().attendee).not.toBe("someone-else");
    expect(res.cookies.some((c) => c.name === "lb_attendee")).toBe(true);
  });

  it("rejects an unknown field in the launch body with the field named", async () => {
    fx = await buildFixture();
    const cookie = await newAttendee(fx.app);
    const res = await launch(cookie, { accessCode: "x", colour: "blue" });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: "invalid-request" });
    expect(res.json().message).toContain("colour");
  });

  it("rejects malformed JSON with a 400 JSON error", async () => {
    fx = await buildFixture();
    const cookie = await newAttendee(fx.app);
    const res = await fx.app.inject({
      method: "POST",
      url: "/api/sandboxes",
      headers: { cookie, "content-type": "application/json" },
      payload: "{not json",
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe("invalid-request");
  });

  it("asks for the access code, refuses a wrong one and accepts the right one", async () => {
    fx = await buildFixture({ workshop: { accessCode: "pydata-2026" } });
    const cookie = await newAttendee(fx.app);
    expect(
      (await fx.app.inject({ url: "/api/workshop", headers: { cookie } })).json()
        .accessCodeRequired,
    ).toBe(true);
    const missing = await launch(cookie);
    expect(missing.statusCode).toBe(403);
    expect(missing.json().code).toBe("access-code-required");
    const wrong = await launch(cookie, { accessCode: "guess" });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().code).toBe("access-code-invalid");
    const right = await launch(cookie, { accessCode: "pydata-2026" });
    expect(right.statusCode).toBe(201);
  });

  it("at capacity puts the attendee in the waiting line and launches them when a seat frees", async () => {
    fx = await buildFixture({ workshop: { maxSandboxes: 2 } });
    const seated: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const res = await launch(await newAttendee(fx.app));
      expect(res.statusCode).toBe(201);
      seated.push(res.json().id);
    }
    const cookie = await newAttendee(fx.app);
    const waiting = await launch(cookie);
    expect(waiting.statusCode).toBe(201);
    expect(waiting.json()).toMatchObject({
      outcome: "waiting",
      phase: "Queued",
      waiting: true,
      position: 1,
      queueLength: 1,
    });
    expect(waiting.json().headline).toMatch(/next in line/);
    const id = waiting.json().id as string;
    // Asking again gives the same place, not a second one.
    expect((await launch(cookie)).json()).toMatchObject({ id, outcome: "existing", position: 1 });
    const ws = (await fx.app.inject({ url: "/api/workshop", headers: { cookie } })).json();
    expect(ws.capacity).toMatchObject({ max: 2, used: 2, left: 0, waiting: 1 });
    expect(ws.mySandbox).toBe(id);
    await expect.poll(() => fx.backend.get(seated[0]!)?.phase).toBe("Pending");
    fx.backend.ready(seated[0]!);
    const estimate = (
      await fx.app.inject({ url: `/api/sandboxes/${id}`, headers: { cookie } })
    ).json();
    expect(estimate.estimatedWaitMs).toBeGreaterThan(0);
    await fx.backend.delete(seated[0]!);
    await expect.poll(() => fx.backend.get(id)?.phase).toBe("Pending");
    const now = (await fx.app.inject({ url: `/api/sandboxes/${id}`, headers: { cookie } })).json();
    expect(now).toMatchObject({ id, phase: "Pending" });
    expect(now.waiting).toBeUndefined();
  });

  it("refuses a launch with workshop-full once the waiting line is at its maximum", async () => {
    fx = await buildFixture({ workshop: { maxSandboxes: 1 }, waitingLine: { max: 1 } });
    expect((await launch(await newAttendee(fx.app))).statusCode).toBe(201);
    expect((await launch(await newAttendee(fx.app))).json().outcome).toBe("waiting");
    const full = await launch(await newAttendee(fx.app));
    expect(full.statusCode).toBe(409);
    expect(full.json()).toMatchObject({ code: "workshop-full", max: 1 });
  });

  it("queues a burst fairly and shows each attendee their position", async () => {
    fx = await buildFixture({ maxConcurrentStarts: 1 });
    let release!: () => void;
    fx.backend.createGate = new Promise((r) => {
      release = r;
    });
    const cookies = [
      await newAttendee(fx.app),
      await newAttendee(fx.app),
      await newAttendee(fx.app),
    ];
    const views = [];
    for (const c of cookies) views.push((await launch(c)).json());
    expect(views[0].phase).toBe("Pending");
    expect(views[1]).toMatchObject({ phase: "Queued", position: 1 });
    expect(views[2]).toMatchObject({
      phase: "Queued",
      position: 2,
      headline: "Waiting in line: 1 attendee ahead of you",
    });
    release();
    await expect.poll(() => fx.backend.created.length).toBe(3);
    expect(fx.backend.created.map((c) => c.id)).toEqual(views.map((v) => v.id));
  });

  it("shows a failed launch with the backend's reason and starts afresh on retry", async () => {
    fx = await buildFixture();
    fx.backend.failNextCreate(new Error("quota exceeded"));
    const cookie = await newAttendee(fx.app);
    const first = (await launch(cookie)).json();
    await expect
      .poll(
        async () =>
          (await fx.app.inject({ url: `/api/sandboxes/${first.id}`, headers: { cookie } })).json()
            .phase,
      )
      .toBe("Failed");
    const failed = (
      await fx.app.inject({ url: `/api/sandboxes/${first.id}`, headers: { cookie } })
    ).json();
    expect(failed.message).toContain("quota exceeded");
    const retry = await launch(cookie);
    expect(retry.statusCode).toBe(201);
    expect(retry.json().id).not.toBe(first.id);
  });

  it("hides other attendees' sandboxes behind the same 404 as missing ones", async () => {
    fx = await buildFixture();
    const alice = await newAttendee(fx.app);
    const bob = await newAttendee(fx.app);
    const id = (await launch(alice)).json().id;
    const asBob = await fx.app.inject({ url: `/api/sandboxes/${id}`, headers: { cookie: bob } });
    const missing = await fx.app.inject({
      url: "/api/sandboxes/sb-doesnotexist",
      headers: { cookie: bob },
    });
    expect(asBob.statusCode).toBe(404);
    expect(asBob.body).toBe(missing.body);
    for (const [method, url] of [
      ["POST", `/api/sandboxes/${id}/extend`],
      ["DELETE", `/api/sandboxes/${id}`],
      ["GET", `/api/sandboxes/${id}/download`],
    ] as const) {
      const res = await fx.app.inject({
        method,
        url,
        headers: { cookie: bob },
        payload: method === "POST" ? {} : undefined,
      });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
  });

  it("rejects a malformed sandbox id", async () => {
    fx = await buildFixture();
    const res = await fx.app.inject({
      url: "/api/sandboxes/NOT_AN_ID!",
      headers: { cookie: await newAttendee(fx.app) },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe("invalid-request");
  });

  it("extends up to the workshop's max lifetime and then refuses", async () => {
    fx = await buildFixture({ workshop: { lifetimeMinutes: 60, maxLifetimeMinutes: 90 } });
    const cookie = await newAttendee(fx.app);
    const { id } = (await launch(cookie)).json();
    await expect.poll(() => fx.backend.get(id)).toBeDefined();
    fx.backend.ready(id);
    const created = fx.backend.get(id)!.createdAt;
    const first = await fx.app.inject({
      method: "POST",
      url: `/api/sandboxes/${id}/extend`,
      headers: { cookie },
      payload: { minutes: 20 },
    });
    expect(first.statusCode).toBe(200);
    expect(Date.parse(first.json().expiresAt)).toBe(created + 80 * 60_000);
    const second = await fx.app.inject({
      method: "POST",
      url: `/api/sandboxes/${id}/extend`,
      headers: { cookie },
      payload: {},
    });
    expect(Date.parse(second.json().expiresAt)).toBe(created + 90 * 60_000);
    const third = await fx.app.inject({
      method: "POST",
      url: `/api/sandboxes/${id}/extend`,
      headers: { cookie },
      payload: {},
    });
    expect(third.statusCode).toBe(409);
    expect(third.json().code).toBe("extend-limit");
    const bad = await fx.app.inject({
      method: "POST",
      url: `/api/sandboxes/${id}/extend`,
      headers: { cookie },
      payload: { minutes: -5 },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toContain("minutes");
  });

  it("expires a sandbox on DELETE and forgets it", async () => {
    fx = await buildFixture();
    const cookie = await newAttendee(fx.app);
    const { id } = (await launch(cookie)).json();
    await expect.poll(() => fx.backend.get(id)).toBeDefined();
    const res = await fx.app.inject({
      method: "DELETE",
      url: `/api/sandboxes/${id}`,
      headers: { cookie },
    });
    expect(res.statusCode).toBe(204);
    expect(fx.backend.deleted).toEqual([id]);
    expect(
      (await fx.app.inject({ url: `/api/sandboxes/${id}`, headers: { cookie } })).statusCode,
    ).toBe(404);
  });

  it("cancels a launch that is still waiting in line", async () => {
    fx = await buildFixture({ maxConcurrentStarts: 1 });
    fx.backend.createGate = new Promise(() => {});
    await launch(await newAttendee(fx.app));
    const cookie = await newAttendee(fx.app);
    const { id, phase } = (await launch(cookie)).json();
    expect(phase).toBe("Queued");
    expect(
      (await fx.app.inject({ method: "DELETE", url: `/api/sandboxes/${id}`, headers: { cookie } }))
        .statusCode,
    ).toBe(204);
    expect(
      (await fx.app.inject({ url: `/api/sandboxes/${id}`, headers: { cookie } })).statusCode,
    ).toBe(404);
  });

  it("refuses a download before the notebook runs", async () => {
    fx = await buildFixture();
    const cookie = await newAttendee(fx.app);
    const { id } = (await launch(cookie)).json();
    const res = await fx.app.inject({ url: `/api/sandboxes/${id}/download`, headers: { cookie } });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe("sandbox-not-ready");
  });

  it("answers a plain GET on the events endpoint with a hint to use a WebSocket", async () => {
    fx = await buildFixture();
    const res = await fx.app.inject({ url: "/api/sandboxes/sb-x/events" });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain("WebSocket");
  });

  it("rate-limits launches per attendee and per IP", async () => {
    fx = await buildFixture({
      rateLimitAttendee: { burst: 2, perMinute: 1 },
      rateLimitIp: { burst: 3, perMinute: 1 },
    });
    const cookie = await newAttendee(fx.app);
    expect((await launch(cookie)).statusCode).toBe(201);
    expect((await launch(cookie)).statusCode).toBe(200);
    const limited = await launch(cookie);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe("rate-limited");
    expect(limited.headers["retry-after"]).toBeDefined();
    const other = await newAttendee(fx.app);
    const ipLimited = await launch(other);
    expect(ipLimited.statusCode).toBe(429);
    expect(ipLimited.json().message).toContain("network address");
  });

  it("refuses state-changing requests from another origin", async () => {
    fx = await buildFixture();
    const cookie = await newAttendee(fx.app);
    const res = await fx.app.inject({
      method: "POST",
      url: "/api/sandboxes",
      headers: { cookie, origin: "https://evil.example", host: "localhost:8080" },
      payload: {},
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe("csrf-rejected");
    const crossSite = await fx.app.inject({
      method: "POST",
      url: "/api/sandboxes",
      headers: { cookie, "sec-fetch-site": "cross-site" },
      payload: {},
    });
    expect(crossSite.statusCode).toBe(403);
    const same = await fx.app.inject({
      method: "POST",
      url: "/api/sandboxes",
      headers: { cookie, origin: "http://localhost:8080", host: "localhost:8080" },
      payload: {},
    });
    expect(same.statusCode).toBe(201);
  });
});

describe("service endpoints", () => {
  it("serves health, readiness, metrics and the OpenAPI document", async () => {
    fx = await buildFixture();
    expect((await fx.app.inject({ url: "/healthz" })).body).toBe("ok");
    expect((await fx.app.inject({ url: "/readyz" })).statusCode).toBe(200);
    await fx.app.inject({ method: "POST", url: "/api/sandboxes", payload: {} });
    const metrics = await fx.app.inject({ url: "/metrics" });
    expect(metrics.body).toContain('launchbay_launch_requests_total{outcome="queued"} 1');
    const doc = (await fx.app.inject({ url: "/openapi.json" })).json();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toContain("/api/sandboxes/{id}/extend");
    expect(
      doc.paths["/api/sandboxes"].post.requestBody.content["application/json"].schema.properties,
    ).toHaveProperty("accessCode");
  });

  it("generates the OpenAPI document from the route schemas: id pattern, 400s, no pages", async () => {
    fx = await buildFixture();
    const doc = (await fx.app.inject({ url: "/openapi.json" })).json();
    const get = doc.paths["/api/sandboxes/{id}"].get;
    expect(get.parameters[0]).toMatchObject({ name: "id", in: "path", required: true });
    expect(get.parameters[0].schema.pattern).toBe("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$");
    expect(Object.keys(get.responses)).toEqual(expect.arrayContaining(["200", "400", "404"]));
    expect(doc.paths["/api/sandboxes/{id}/extend"].post.responses["400"]).toBeDefined();
    expect(doc.paths["/api/admin/sandboxes"].post.security).toEqual([
      { organiserBearer: [] },
      { organiserCookie: [] },
    ]);
    expect(
      Object.keys(doc.paths).every(
        (p) => p.startsWith("/api/") || ["/healthz", "/readyz", "/metrics"].includes(p),
      ),
    ).toBe(true);
  });

  it("answers a bad body with a 400 naming the field, in the launcher's error shape", async () => {
    fx = await buildFixture();
    const cookie = await newAttendee(fx.app);
    const wrongType = await launch(cookie, { accessCode: 5 });
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json()).toEqual({
      code: "invalid-request",
      message: "invalid request: body.accessCode: Invalid input: expected string, received number",
    });
    const admin = await fx.app.inject({
      method: "POST",
      url: "/api/admin/sandboxes",
      headers: { authorization: `Bearer ${ORGANISER_TOKEN}` },
      payload: { count: 0 },
    });
    expect(admin.statusCode).toBe(400);
    expect(admin.json().message).toContain("body.count:");
    const badId = await fx.app.inject({ url: "/api/sandboxes/NOT_AN_ID", headers: { cookie } });
    expect(badId.json()).toEqual({
      code: "invalid-request",
      message: "invalid request: params.id: is not a sandbox id",
    });
  });

  it("answers a known path asked with another method with 405 and Allow", async () => {
    fx = await buildFixture();
    const trace = await fx.app.inject({ method: "TRACE", url: "/api/sandboxes" });
    expect(trace.statusCode).toBe(405);
    expect(trace.headers.allow).toBe("POST");
    expect(trace.json().code).toBe("method-not-allowed");
    const put = await fx.app.inject({ method: "PUT", url: "/api/sandboxes/sb-abc" });
    expect(put.statusCode).toBe(405);
    expect(put.headers.allow).toBe("GET, HEAD, DELETE");
    expect((await fx.app.inject({ method: "TRACE", url: "/nope" })).statusCode).toBe(404);
  });

  it("reports not ready while shutting down", async () => {
    fx = await buildFixture();
    fx.app.launcher.ready.value = false;
    const res = await fx.app.inject({ url: "/readyz" });
    expect(res.statusCode).toBe(503);
    expect(res.json().code).toBe("shutting-down");
  });

  it("answers unknown paths with a JSON 404", async () => {
    fx = await buildFixture();
    const res = await fx.app.inject({ url: "/nope" });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe("not-found");
  });

  it("closes the backend when the app closes", async () => {
    fx = await buildFixture();
    expect(fx.backend.started).toBe(true);
    await fx.app.close();
    expect(fx.backend.closed).toBe(true);
  });
});
