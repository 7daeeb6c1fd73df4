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

const bearer = { authorization: `Bearer ${ORGANISER_TOKEN}` };

async function launched(): Promise<{ id: string; cookie: string }> {
  const cookie = await newAttendee(fx.app);
  const { id } = (
    await fx.app.inject({ method: "POST", url: "/api/sandboxes", headers: { cookie }, payload: {} })
  ).json();
  await expect.poll(() => fx.backend.get(id)).toBeDefined();
  return { id, cookie };
}

describe("organiser API", () => {
  it("requires the organiser: 401 without credentials, 403 with a wrong token", async () => {
    fx = await buildFixture();
    const none = await fx.app.inject({ url: "/api/admin/overview" });
    expect(none.statusCode).toBe(401);
    expect(none.json().code).toBe("unauthorized");
    const wrong = await fx.app.inject({
      url: "/api/admin/sandboxes",
      headers: { authorization: "Bearer nope" },
    });
    expect(wrong.statusCode).toBe(403);
    const attendee = await fx.app.inject({
      url: "/api/admin/overview",
      headers: { cookie: await newAttendee(fx.app) },
    });
    expect(attendee.statusCode).toBe(401);
  });

  it("signs in with the token form, sets a Strict organiser cookie and signs out", async () => {
    fx = await buildFixture();
    const page = await fx.app.inject({ url: "/admin" });
    expect(page.body).toContain("Organiser sign-in");
    const bad = await fx.app.inject({
      method: "POST",
      url: "/admin/login",
      payload: "token=wrong",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(bad.statusCode).toBe(303);
    expect(bad.headers.location).toBe("/admin?error=wrong-token");
    expect((await fx.app.inject({ url: "/admin?error=wrong-token" })).statusCode).toBe(401);
    const good = await fx.app.inject({
      method: "POST",
      url: "/admin/login",
      payload: `token=${encodeURIComponent(ORGANISER_TOKEN)}`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(good.statusCode).toBe(303);
    const cookie = good.cookies.find((c) => c.name === "lb_organiser")!;
    expect(cookie.sameSite).toBe("Strict");
    expect(cookie.httpOnly).toBe(true);
    const admin = await fx.app.inject({
      url: "/admin",
      headers: { cookie: `lb_organiser=${cookie.value}` },
    });
    expect(admin.body).toContain("Launch times");
    expect(
      (
        await fx.app.inject({
          url: "/api/admin/overview",
          headers: { cookie: `lb_organiser=${cookie.value}` },
        })
      ).statusCode,
    ).toBe(200);
    const out = await fx.app.inject({ method: "POST", url: "/admin/logout" });
    expect(out.cookies.find((c) => c.name === "lb_organiser")!.value).toBe("");
    const missing = await fx.app.inject({ method: "POST", url: "/admin/login", payload: {} });
    expect(missing.statusCode).toBe(400);
  });

  it("lists every sandbox with owner, phase, age, time left and ready time", async () => {
    fx = await buildFixture();
    const { id } = await launched();
    fx.clock.now += 12_000;
    fx.backend.ready(id);
    fx.clock.now += 3_000;
    const list = (await fx.app.inject({ url: "/api/admin/sandboxes", headers: bearer })).json()
      .sandboxes;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      id,
      phase: "Ready",
      ageSeconds: 15,
      readySeconds: 12,
      secondsLeft: 120 * 60 - 15,
      warm: false,
    });
    expect(list[0].owner).toMatch(/.{10,}/);
    const overview = (await fx.app.inject({ url: "/api/admin/overview", headers: bearer })).json();
    expect(overview.capacity).toMatchObject({ max: 20, used: 1, left: 19 });
    expect(overview.launches.count).toBe(1);
    expect(overview.launches.p50Ms).toBe(12_000);
    expect(overview.launches.histogram.find((b: { le: number }) => b.le === 20).count).toBe(1);
    expect(overview.settings).toMatchObject({ lifetimeMinutes: 120, accessCode: "none" });
  });

  it("never reveals the access code", async () => {
    fx = await buildFixture({ workshop: { accessCode: "secret-code" } });
    const overview = await fx.app.inject({ url: "/api/admin/overview", headers: bearer });
    expect(overview.body).not.toContain("secret-code");
    expect(overview.json().settings.accessCode).toBe("set");
  });

  it("starts warm sandboxes that the next attendee claims at once", async () => {
    fx = await buildFixture();
    const started = await fx.app.inject({
      method: "POST",
      url: "/api/admin/sandboxes",
      headers: bearer,
      payload: { count: 2 },
    });
    expect(started.statusCode).toBe(201);
    const [warmId] = started.json().created;
    fx.backend.ready(warmId);
    expect(
      (await fx.app.inject({ url: "/api/admin/overview", headers: bearer })).json().capacity,
    ).toMatchObject({ warm: 2, warmReady: 1 });
    const cookie = await newAttendee(fx.app);
    const res = await fx.app.inject({
      method: "POST",
      url: "/api/sandboxes",
      headers: { cookie },
      payload: {},
    });
    expect(res.json()).toMatchObject({
      id: warmId,
      outcome: "claimed",
      phase: "Ready",
      sandboxUrl: `/s/${warmId}/`,
    });
    const bad = await fx.app.inject({
      method: "POST",
      url: "/api/admin/sandboxes",
      headers: bearer,
      payload: { count: 0 },
    });
    expect(bad.statusCode).toBe(400);
  });

  it("extends and expires one sandbox, or all of them", async () => {
    fx = await buildFixture({ workshop: { lifetimeMinutes: 60, maxLifetimeMinutes: 100 } });
    const a = await launched();
    const b = await launched();
    const one = await fx.app.inject({
      method: "POST",
      url: `/api/admin/sandboxes/${a.id}/extend`,
      headers: bearer,
      payload: { minutes: 40 },
    });
    expect(one.statusCode).toBe(200);
    const all = await fx.app.inject({
      method: "POST",
      url: "/api/admin/extend-all",
      headers: bearer,
      payload: { minutes: 10 },
    });
    expect(all.json()).toEqual({ extended: 1, atLimit: 1, failed: 0 });
    expect(
      (
        await fx.app.inject({
          method: "DELETE",
          url: `/api/admin/sandboxes/${a.id}`,
          headers: bearer,
        })
      ).statusCode,
    ).toBe(204);
    expect(
      (
        await fx.app.inject({
          method: "DELETE",
          url: `/api/admin/sandboxes/${a.id}`,
          headers: bearer,
        })
      ).statusCode,
    ).toBe(404);
    const unconfirmed = await fx.app.inject({
      method: "POST",
      url: "/api/admin/expire-all",
      headers: bearer,
      payload: {},
    });
    expect(unconfirmed.statusCode).toBe(400);
    expect(unconfirmed.json().message).toContain("confirm");
    const expired = await fx.app.inject({
      method: "POST",
      url: "/api/admin/expire-all",
      headers: bearer,
      payload: { confirm: true },
    });
    expect(expired.json()).toEqual({ expired: 1, failed: 0 });
    expect(fx.backend.deleted).toEqual([a.id, b.id]);
  });

  it("lets the organiser see any attendee's sandbox", async () => {
    fx = await buildFixture();
    const { id } = await launched();
    expect((await fx.app.inject({ url: `/api/sandboxes/${id}`, headers: bearer })).statusCode).toBe(
      200,
    );
  });
});

describe("local warm pool", () => {
  it("keeps the configured number of warm sandboxes and replaces a claimed one", async () => {
    fx = await buildFixture({ workshop: { warmPool: 2, maxSandboxes: 5 } });
    expect(fx.backend.created.filter((c) => c.owner === "")).toHaveLength(2);
    const [first] = fx.backend.list();
    fx.backend.ready(first!.id);
    const cookie = await newAttendee(fx.app);
    const res = await fx.app.inject({
      method: "POST",
      url: "/api/sandboxes",
      headers: { cookie },
      payload: {},
    });
    expect(res.json()).toMatchObject({ outcome: "claimed", id: first!.id });
    await expect.poll(() => fx.backend.list().filter((s) => s.warm).length).toBe(2);
    expect(fx.backend.created).toHaveLength(3);
    const list = (await fx.app.inject({ url: "/api/admin/sandboxes", headers: bearer })).json()
      .sandboxes;
    const warm = list.find((s: { warm: boolean }) => s.warm);
    expect(warm).toMatchObject({ secondsLeft: null, expiresAt: null });
  });

  it("stops adding warm sandboxes once attendees fill the workshop", async () => {
    fx = await buildFixture({ workshop: { warmPool: 1, maxSandboxes: 2 } });
    expect(fx.backend.created).toHaveLength(1);
    for (let i = 0; i < 2; i += 1) {
      const cookie = await newAttendee(fx.app);
      await fx.app.inject({
        method: "POST",
        url: "/api/sandboxes",
        headers: { cookie },
        payload: {},
      });
    }
    const warmId = fx.backend.list().find((s) => s.warm)!.id;
    fx.backend.ready(warmId);
    await fx.backend.delete(warmId);
    await expect.poll(() => fx.backend.created.length).toBe(3);
    expect(fx.backend.list().filter((s) => s.warm)).toHaveLength(0);
  });
});
