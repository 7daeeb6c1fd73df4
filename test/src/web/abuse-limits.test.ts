import type { AddressInfo } from "node:net";
import type { LauncherConfigInput } from "@launchbay/web";
import { buildFixture, type Fixture, ORGANISER_TOKEN } from "@launchbay/web/testing";
import { afterEach, describe, expect, it } from "vitest";

// Abuse of the launcher's limits, performed for real (app.inject where sockets do not
// matter, a listening launcher where the client address comes from the socket and
// X-Forwarded-For). Each attack has a control beside it that succeeds.

let fx: Fixture | undefined;
afterEach(async () => {
  await fx?.app.close();
  fx = undefined;
});

async function start(overrides: LauncherConfigInput): Promise<Fixture> {
  fx = await buildFixture(overrides);
  return fx;
}

const form = (token: string) => `token=${encodeURIComponent(token)}`;

async function signIn(f: Fixture, token: string, remoteAddress: string) {
  return f.app.inject({
    method: "POST",
    url: "/admin/login",
    remoteAddress,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    payload: form(token),
  });
}

/** A cookieless launch (a fresh identity every time) from one address. */
async function launchFrom(
  f: Fixture,
  remoteAddress: string,
  body: object = {},
  headers: Record<string, string> = {},
) {
  return f.app.inject({
    method: "POST",
    url: "/api/sandboxes",
    remoteAddress,
    headers,
    payload: body,
  });
}

describe("abuse limits", () => {
  it("rotating X-Forwarded-For does not reset the rate limit", async () => {
    // "1" is what the chart passes behind an ingress: one proxy of ours in front.
    const f = await start({
      trustProxy: "1",
      rateLimitIp: { burst: 5, perMinute: 5 },
      workshop: { maxSandboxes: 100 },
    });
    await f.app.listen({ host: "127.0.0.1", port: 0 });
    const base = `http://127.0.0.1:${(f.app.server.address() as AddressInfo).port}`;
    // The attacker sends a fresh X-Forwarded-For on every request; the ingress (played
    // here) appends the address it really sees, which is the only hop the launcher trusts.
    const launch = (spoofed: string, real: string) =>
      fetch(`${base}/api/sandboxes`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": `${spoofed}, ${real}` },
        body: "{}",
      });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      statuses.push((await launch(`198.51.100.${i + 1}`, "203.0.113.7")).status);
    }
    expect(statuses.slice(0, 5)).toEqual([201, 201, 201, 201, 201]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    const limited = await launch("198.51.100.99", "203.0.113.7");
    expect(limited.headers.get("retry-after")).toMatch(/^[1-9][0-9]*$/);
    expect(((await limited.json()) as { code: string }).code).toBe("rate-limited");
    // Control: another real client behind the same ingress is not affected.
    expect((await launch("198.51.100.1", "203.0.113.8")).status).toBe(201);
  });

  it("X-Forwarded-For is believed only from the listed proxy addresses", async () => {
    const f = await start({
      trustProxy: "10.0.0.0/8,127.0.0.1",
      rateLimitIp: { burst: 2, perMinute: 2 },
      workshop: { maxSandboxes: 100 },
    });
    // A client that is not one of our proxies writes its own X-Forwarded-For: ignored, so
    // rotating it does not escape the limit.
    const direct = (spoofed: string) =>
      launchFrom(f, "203.0.113.50", {}, { "x-forwarded-for": spoofed });
    expect((await direct("198.51.100.1")).statusCode).toBe(201);
    expect((await direct("198.51.100.2")).statusCode).toBe(201);
    expect((await direct("198.51.100.3")).statusCode).toBe(429);
    // Control: through our proxy (10.1.2.3) the forwarded address is the client.
    const viaProxy = (client: string) =>
      launchFrom(f, "10.1.2.3", {}, { "x-forwarded-for": client });
    expect((await viaProxy("198.51.100.7")).statusCode).toBe(201);
    expect((await viaProxy("198.51.100.8")).statusCode).toBe(201);
  });

  it("organiser login brute force is throttled", async () => {
    const f = await start({ limits: { organiserSignInPerIp: { max: 3, windowSeconds: 60 } } });
    const attacker = "203.0.113.10";
    for (let i = 0; i < 3; i += 1) {
      const wrong = await signIn(f, `guess-${i}-0123456789abcdef`, attacker);
      expect(wrong.statusCode).toBe(303);
      expect(wrong.headers.location).toBe("/admin?error=wrong-token");
    }
    const fourth = await signIn(f, "guess-3-0123456789abcdef", attacker);
    expect(fourth.statusCode).toBe(429);
    expect(fourth.json()).toMatchObject({ code: "rate-limited", limit: "organiser-sign-in" });
    expect(fourth.headers["retry-after"]).toBe("60");
    // Exponential backoff: every further attempt doubles the wait.
    const fifth = await signIn(f, "guess-4-0123456789abcdef", attacker);
    expect(fifth.headers["retry-after"]).toBe("120");
    // Locked out, even the right token is refused the same way: guessing learns nothing.
    const rightButLocked = await signIn(f, ORGANISER_TOKEN, attacker);
    expect(rightButLocked.statusCode).toBe(429);
    // Bearer tokens on the API fall under the same limit.
    const bearer = await f.app.inject({
      url: "/api/admin/overview",
      remoteAddress: attacker,
      headers: { authorization: "Bearer guess-5-0123456789abcdef" },
    });
    expect(bearer.statusCode).toBe(429);
    expect(bearer.headers["retry-after"]).toBe("240");

    // Controls: the right token works from another address at once...
    const elsewhere = await signIn(f, ORGANISER_TOKEN, "203.0.113.11");
    expect(elsewhere.statusCode).toBe(303);
    expect(elsewhere.headers.location).toBe("/admin");
    // ...and from the attacker's address once the (doubled) wait is over.
    f.clock.now += 239_000;
    expect((await signIn(f, ORGANISER_TOKEN, attacker)).statusCode).toBe(429);
    f.clock.now += 2_000;
    const later = await signIn(f, ORGANISER_TOKEN, attacker);
    expect(later.statusCode).toBe(303);
    expect(later.headers.location).toBe("/admin");
  });

  it("sign-out revokes the organiser session", async () => {
    const f = await start({});
    const login = await signIn(f, ORGANISER_TOKEN, "127.0.0.1");
    const session = login.cookies.find((c) => c.name === "lb_organiser")!;
    const cookie = `lb_organiser=${session.value}`;
    const overview = () => f.app.inject({ url: "/api/admin/overview", headers: { cookie } });
    expect((await overview()).statusCode).toBe(200);

    // A second sign-in gets a different, random session (not a constant signed value).
    const again = await signIn(f, ORGANISER_TOKEN, "127.0.0.1");
    const other = again.cookies.find((c) => c.name === "lb_organiser")!;
    expect(other.value).not.toBe(session.value);

    const out = await f.app.inject({ method: "POST", url: "/admin/logout", headers: { cookie } });
    expect(out.statusCode).toBe(303);
    // The attack: replay the cookie copied before sign-out.
    const replay = await overview();
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe("unauthorized");
    // Control: the other session is still alive, and a fresh sign-in works.
    const otherCookie = `lb_organiser=${other.value}`;
    expect(
      (await f.app.inject({ url: "/api/admin/overview", headers: { cookie: otherCookie } }))
        .statusCode,
    ).toBe(200);
    const fresh = await signIn(f, ORGANISER_TOKEN, "127.0.0.1");
    const freshCookie = `lb_organiser=${fresh.cookies.find((c) => c.name === "lb_organiser")!.value}`;
    expect(
      (await f.app.inject({ url: "/api/admin/overview", headers: { cookie: freshCookie } }))
        .statusCode,
    ).toBe(200);
  });

  it("organiser sessions expire on the server", async () => {
    const f = await start({ organiserSessionHours: 1 });
    const login = await signIn(f, ORGANISER_TOKEN, "127.0.0.1");
    const cookie = `lb_organiser=${login.cookies.find((c) => c.name === "lb_organiser")!.value}`;
    const overview = () => f.app.inject({ url: "/api/admin/overview", headers: { cookie } });
    expect((await overview()).statusCode).toBe(200);
    f.clock.now += 3_600_000;
    expect((await overview()).statusCode).toBe(401);
  });

  it("access-code guessing with fresh cookies is throttled per IP and per workshop", async () => {
    const code = "pydata-2026-parallel";
    const f = await start({
      workshop: { accessCode: code, maxSandboxes: 50 },
      limits: {
        accessCodePerIp: { max: 5, windowSeconds: 600 },
        accessCodePerWorkshop: { max: 8, windowSeconds: 600 },
      },
    });
    // Control first: the right code from one address launches.
    expect((await launchFrom(f, "203.0.113.1", { accessCode: code })).statusCode).toBe(201);

    // Attacker A: every guess from a fresh cookie.
    for (let i = 0; i < 5; i += 1) {
      const wrong = await launchFrom(f, "203.0.113.66", { accessCode: `guess-${i}` });
      expect(wrong.statusCode).toBe(403);
      expect(wrong.json().code).toBe("access-code-invalid");
    }
    const limitedA = await launchFrom(f, "203.0.113.66", { accessCode: code });
    expect(limitedA.statusCode).toBe(429);
    expect(limitedA.json()).toMatchObject({ code: "rate-limited", limit: "access-code-ip" });
    expect(Number(limitedA.headers["retry-after"])).toBeGreaterThan(0);

    // Attacker B (another address) exhausts what is left of the workshop's budget (8).
    for (let i = 0; i < 2; i += 1) {
      expect((await launchFrom(f, "203.0.113.77", { accessCode: `more-${i}` })).statusCode).toBe(
        403,
      );
    }
    const limitedB = await launchFrom(f, "203.0.113.77", { accessCode: "more-2" });
    expect(limitedB.statusCode).toBe(429);
    expect(limitedB.json()).toMatchObject({ limit: "access-code-workshop" });
    expect(Number(limitedB.headers["retry-after"])).toBeGreaterThan(0);
    // Workshop-wide: a third address is held back too, even with the right code.
    expect((await launchFrom(f, "203.0.113.88", { accessCode: code })).statusCode).toBe(429);

    // Control: after the window the right code works again.
    f.clock.now += 601_000;
    expect((await launchFrom(f, "203.0.113.66", { accessCode: code })).statusCode).toBe(201);
  });

  it("cookieless launches from one IP cannot fill capacity", async () => {
    const f = await start({
      workshop: { maxSandboxes: 10 },
      limits: { launchesPerIp: { max: 3, windowSeconds: 3600 } },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1) statuses.push((await launchFrom(f, "203.0.113.5")).statusCode);
    expect(statuses.slice(0, 3)).toEqual([201, 201, 201]);
    expect(new Set(statuses.slice(3))).toEqual(new Set([429]));
    const workshop = await f.app.inject({ url: "/api/workshop", remoteAddress: "203.0.113.6" });
    expect(workshop.json().capacity.left).toBe(7);
    // Control: an attendee from another address still launches.
    expect((await launchFrom(f, "203.0.113.6")).statusCode).toBe(201);
  });

  it("minting fresh identities from one IP is capped", async () => {
    const f = await start({ limits: { newIdentitiesPerIp: { max: 5, windowSeconds: 3600 } } });
    for (let i = 0; i < 5; i += 1) {
      const visit = await f.app.inject({ url: "/api/workshop", remoteAddress: "203.0.113.9" });
      expect(visit.statusCode).toBe(200);
      expect(visit.cookies.some((c) => c.name === "lb_attendee")).toBe(true);
    }
    const sixth = await f.app.inject({ url: "/", remoteAddress: "203.0.113.9" });
    expect(sixth.statusCode).toBe(429);
    expect(sixth.json().limit).toBe("new-identity");
    // Control: an attendee who already has a cookie is not affected; nor is another address.
    const first = await f.app.inject({ url: "/", remoteAddress: "203.0.113.10" });
    expect(first.statusCode).toBe(200);
    const cookie = `lb_attendee=${first.cookies.find((c) => c.name === "lb_attendee")!.value}`;
    expect(
      (
        await f.app.inject({
          url: "/api/workshop",
          remoteAddress: "203.0.113.9",
          headers: { cookie },
        })
      ).statusCode,
    ).toBe(200);
  });
});
