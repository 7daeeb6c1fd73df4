import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type KubeClient, watchUntil } from "@launchbay/kube";
import {
  buildApp,
  createKubernetesBackend,
  type KubernetesBackend,
  KubernetesSeatLedger,
  type LauncherApp,
  parseConfig,
} from "@launchbay/web";
import pino from "pino";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type {} from "../k8s/provided-context.js";
import {
  isReady,
  paths,
  type SandboxView,
  smallWorkshop,
  uniqueName,
} from "../operator/fixtures.js";
import { connect, createNamespace, installCrds } from "../operator/kube.js";
import { isMsg, type OperatorProcess, startOperator } from "../operator/operator-process.js";

// Launches on two launcher replicas of one workshop (Kubernetes backend, real control
// plane with kwok nodes, the real operator), behind a round-robin proxy that sends each
// request to the other replica, as a Service in front of `web.replicas: 2` may. Every
// attendee clicks several times at once, so their clicks land on both replicas at the
// same moment. Before the seats were shared in the API, each replica decided from its own
// memory: one attendee got a sandbox on each replica, and each replica filled the whole
// workshop (see the README's operations section).
const k8s = inject("k8s");
const ORGANISER = "organiser-token-replica-launch-0123456789";
const SECRET = "cookie-secret-replica-launch-0123456789ab";
let client: KubeClient;
let operator: OperatorProcess;
let ns: string;
const apps: LauncherApp[] = [];
const proxies: Server[] = [];

interface Replica {
  app: LauncherApp;
  base: string;
  backend: KubernetesBackend;
}

async function replica(workshopName: string): Promise<Replica> {
  const log = pino({ level: "silent" });
  const config = parseConfig({
    backend: "kubernetes",
    organiserToken: ORGANISER,
    cookieSecret: SECRET,
    logLevel: "silent",
    maxConcurrentStarts: 50,
    kubernetes: { kubeconfig: k8s.kubeconfig, namespace: ns, workshopName, replicas: 2 },
  });
  const { backend, workshop, shared, stopSweeping } = await createKubernetesBackend(config, log);
  const app = await buildApp({
    config: { ...config, workshop },
    backend,
    loggerInstance: log,
    ...shared,
  });
  app.addHook("onClose", async () => stopSweeping());
  apps.push(app);
  await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    app,
    backend,
    base: `http://localhost:${(app.server.address() as AddressInfo).port}`,
  };
}

/** Two replicas of the "warm" workshop, once both see at least 3 warm sandboxes Ready. */
async function warmPair(): Promise<Replica[]> {
  const pair = [await replica("warm"), await replica("warm")];
  await expect
    .poll(() => Math.min(...pair.map((r) => r.backend.capacity().warmReady)), {
      timeout: 120_000,
      interval: 250,
    })
    .toBeGreaterThanOrEqual(3);
  return pair;
}

/**
 * A proxy that sends request n to replica n mod 2 (a round-robin load balancer). It
 * presents each request as addressed to the replica it picked (Host and Origin), as an
 * ingress does for a launcher configured with its public host.
 */
async function roundRobin(replicas: Replica[]): Promise<string> {
  let next = 0;
  let own = "";
  const server = createServer((req, res) => {
    const target = new URL(replicas[next++ % replicas.length]!.base);
    const headers = { ...req.headers, host: target.host };
    if (headers.origin === own) headers.origin = target.origin;
    const upstream = request(
      {
        host: "127.0.0.1",
        port: Number(target.port),
        method: req.method,
        path: req.url,
        headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(upstream);
  });
  proxies.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  // Same host name as the replicas (localhost), so the attendee cookie is sent to both.
  own = `http://localhost:${(server.address() as AddressInfo).port}`;
  return own;
}

async function newAttendee(base: string): Promise<string> {
  const res = await fetch(`${base}/`);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith("lb_attendee="))!;
  return cookie.split(";")[0]!;
}

async function click(
  base: string,
  cookie: string,
): Promise<{ status: number; id?: string; outcome?: string; error?: string }> {
  const res = await fetch(`${base}/api/sandboxes`, {
    method: "POST",
    headers: { cookie, "content-type": "application/json", origin: base },
    body: "{}",
  });
  const body = (await res.json()) as { id?: string; outcome?: string; error?: string };
  return { status: res.status, id: body.id, outcome: body.outcome, error: body.error };
}

/** An attendee's open page: its event socket (errors, on a replica that refuses it, ignored). */
function openPage(base: string, cookie: string, id: string): WebSocket {
  const ws = new WebSocket(`${base.replace("http", "ws")}/api/sandboxes/${id}/events`, {
    headers: { cookie, origin: base },
  });
  ws.on("error", () => {});
  ws.on("unexpected-response", (_req, res) => res.resume());
  return ws;
}

async function sandboxesOf(workshop: string): Promise<SandboxView[]> {
  const list = await client.get<{ items: SandboxView[] }>(paths.sandboxes(ns), {
    query: { labelSelector: `launchbay.dev/workshop=${workshop}` },
  });
  return list.items;
}

/** Sandboxes per owner (warm ones, without an owner, left out). */
function byOwner(sandboxes: SandboxView[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of sandboxes) {
    const owner = s.spec.owner;
    if (!owner) continue;
    out.set(owner, [...(out.get(owner) ?? []), s.metadata.name]);
  }
  return out;
}

beforeAll(async () => {
  client = await connect(k8s.kubeconfig);
  await installCrds(client);
  ns = uniqueName("replica-launch");
  await createNamespace(client, ns);
  await client.create(paths.workshops(ns), smallWorkshop("clicks", ns, { maxSandboxes: 40 }));
  await client.create(paths.workshops(ns), smallWorkshop("seats", ns, { maxSandboxes: 3 }));
  await client.create(paths.workshops(ns), smallWorkshop("line", ns, { maxSandboxes: 2 }));
  await client.create(
    paths.workshops(ns),
    smallWorkshop("warm", ns, { warmPool: 3, maxSandboxes: 20 }),
  );
  operator = startOperator(k8s.kubeconfig, ["--leader-elect", "false"]);
  await operator.waitForLog(isMsg("Reconciling"));
});

afterAll(async () => {
  for (const app of apps) await app.close();
  for (const proxy of proxies) proxy.close();
  await operator?.stop();
  client?.close();
});

describe("launches on two replicas behind a round-robin proxy", { timeout: 300_000 }, () => {
  it("control: one replica alone gives each attendee one sandbox", async () => {
    const alone = await replica("clicks");
    const cookies = await Promise.all(Array.from({ length: 3 }, () => newAttendee(alone.base)));
    const answers = await Promise.all(
      cookies.flatMap((cookie) => [0, 1, 2].map(() => click(alone.base, cookie))),
    );
    expect(answers.every((a) => a.status === 200 || a.status === 201)).toBe(true);
    const owners = byOwner(await sandboxesOf("clicks"));
    expect(owners.size).toBe(3);
    for (const ids of owners.values()) expect(ids).toHaveLength(1);
  });

  it("concurrent clicks of one attendee on both replicas give one sandbox", async () => {
    const before = byOwner(await sandboxesOf("clicks")).size;
    const pair = [await replica("clicks"), await replica("clicks")];
    const base = await roundRobin(pair);
    const attendees = 8;
    const cookies = await Promise.all(Array.from({ length: attendees }, () => newAttendee(base)));
    // Four clicks per attendee, all at once: two reach each replica.
    const answers = await Promise.all(
      cookies.map((cookie) => Promise.all([0, 1, 2, 3].map(() => click(base, cookie)))),
    );
    for (const mine of answers) {
      expect(mine.map((a) => a.status).every((s) => s === 200 || s === 201)).toBe(true);
      expect(new Set(mine.map((a) => a.id)).size).toBe(1);
    }
    const owners = byOwner(await sandboxesOf("clicks"));
    expect(owners.size).toBe(before + attendees);
    for (const ids of owners.values()) expect(ids).toHaveLength(1);
    // Either replica answers a later click with the same sandbox.
    const again = await Promise.all(pair.map((r) => click(r.base, cookies[0]!)));
    expect(again.map((a) => a.id)).toEqual([answers[0]![0]!.id, answers[0]![0]!.id]);
    expect(again.map((a) => a.outcome)).toEqual(["existing", "existing"]);
  });

  it("ten attendees at once never get more than the workshop's 3 seats", async () => {
    // Every Sandbox of the workshop, as the API server reports them, from before the
    // first click: the most that held an owner at any moment.
    let most = 0;
    let done = false;
    const watching = watchUntil<SandboxView>(
      client,
      paths.sandboxes(ns),
      { labelSelector: "launchbay.dev/workshop=seats", timeoutMs: 120_000 },
      (items) => {
        most = Math.max(most, items.filter((s) => s.spec.owner).length);
        return items.length === 0 && done;
      },
    );
    watching.catch(() => {}); // awaited at the end; a failure before that is the test's
    const pair = [await replica("seats"), await replica("seats")];
    const base = await roundRobin(pair);
    const cookies = await Promise.all(Array.from({ length: 10 }, () => newAttendee(base)));
    const answers = await Promise.all(cookies.map((cookie) => click(base, cookie)));
    expect(answers.filter((a) => a.outcome === "queued")).toHaveLength(3);
    expect(answers.filter((a) => a.outcome === "waiting")).toHaveLength(7);
    expect(byOwner(await sandboxesOf("seats")).size).toBe(3);
    // Both replicas count the same seats (once each has seen the others' sandboxes).
    for (const r of pair) {
      await expect
        .poll(
          async () =>
            (
              await (
                await fetch(`${r.base}/api/workshop`, { headers: { cookie: cookies[0]! } })
              ).json()
            ).capacity,
          { timeout: 30_000, interval: 100 },
        )
        .toMatchObject({ max: 3, used: 3, left: 0 });
    }
    // The waiting attendees keep their pages open (an event socket on the replica that
    // holds their place; the other one refuses it).
    const sockets = answers
      .map((a, i) => ({ a, cookie: cookies[i]! }))
      .filter(({ a }) => a.outcome === "waiting")
      .flatMap(({ a, cookie }) => pair.map((r) => openPage(r.base, cookie, a.id!)));
    // Seats free one by one (each attendee ends their sandbox on either replica): someone
    // waiting is launched each time, and at no moment are more than 3 sandboxes held.
    const launched = answers.filter((a) => a.outcome === "queued");
    for (const [i, a] of launched.entries()) {
      const cookie = cookies[answers.indexOf(a)]!;
      const res = await fetch(`${pair[i % 2]!.base}/api/sandboxes/${a.id}`, {
        method: "DELETE",
        headers: { cookie, origin: pair[i % 2]!.base },
      });
      expect(res.status).toBe(204);
    }
    // Three who waited now hold the seats (the 3 ended sandboxes are gone from the API).
    await watchUntil<SandboxView>(
      client,
      paths.sandboxes(ns),
      { labelSelector: "launchbay.dev/workshop=seats", timeoutMs: 120_000 },
      (items) =>
        items.filter((s) => s.spec.owner).length === 3 &&
        items.every((s) => !launched.some((a) => a.id === s.metadata.name)),
    );
    // Clean up, so the watch above sees the workshop empty and ends.
    done = true;
    for (const socket of sockets) socket.close();
    for (const s of await sandboxesOf("seats"))
      await client.delete(`${paths.sandboxes(ns)}/${s.metadata.name}`);
    for (const app of pair.map((r) => r.app)) await app.close();
    await watching;
    expect(most).toBe(3);
  });

  it("a warm sandbox claimed by both replicas at once goes to one of them", async () => {
    const pair = await warmPair();
    // Both replicas try the oldest warm sandbox first; the claim carries the
    // resourceVersion read, so the API server accepts one and the other moves on.
    const expiresAt = Date.now() + 3_600_000;
    const claims = await Promise.all([
      pair[0]!.backend.claim({ owner: "claimer-a-0123456789abcdef", expiresAt }),
      pair[1]!.backend.claim({ owner: "claimer-b-0123456789abcdef", expiresAt }),
      pair[1]!.backend.claim({ owner: "claimer-c-0123456789abcdef", expiresAt }),
    ]);
    const ids = claims.map((c) => c?.id);
    expect(ids.every((id) => id !== undefined)).toBe(true);
    expect(new Set(ids).size).toBe(3);
    const owners = byOwner(await sandboxesOf("warm"));
    for (const claim of claims) expect(owners.get(claim!.owner)).toEqual([claim!.id]);
  });

  it("attendees clicking on both replicas get warm sandboxes, one each", async () => {
    const pair = await warmPair();
    const base = await roundRobin(pair);
    const before = byOwner(await sandboxesOf("warm")).size;
    const cookies = await Promise.all(Array.from({ length: 5 }, () => newAttendee(base)));
    const answers = await Promise.all(
      cookies.map((cookie) => Promise.all([0, 1].map(() => click(base, cookie)))),
    );
    for (const mine of answers) expect(new Set(mine.map((a) => a.id)).size).toBe(1);
    const ids = answers.map((mine) => mine[0]!.id);
    expect(new Set(ids).size).toBe(5);
    const outcomes = answers.flat().map((a) => a.outcome);
    expect(outcomes.filter((o) => o === "claimed").length).toBeGreaterThanOrEqual(1);
    const owners = byOwner(await sandboxesOf("warm"));
    expect(owners.size).toBe(before + 5);
    for (const list of owners.values()) expect(list).toHaveLength(1);
  });

  it("both replicas report the same launch statistics", async () => {
    const pair = [await replica("clicks"), await replica("clicks")];
    const base = await roundRobin(pair);
    // Wait until the attendees' sandboxes launched above (through both replicas) are Ready.
    const all = await watchUntil<SandboxView>(
      client,
      paths.sandboxes(ns),
      { labelSelector: "launchbay.dev/workshop=clicks", timeoutMs: 180_000 },
      (items) => items.length >= 11 && items.every(isReady),
    );
    await expect
      .poll(
        () =>
          pair.every((r) => all.every((s) => r.backend.get(s.metadata.name)?.phase === "Ready")),
        { timeout: 60_000, interval: 250 },
      )
      .toBe(true);
    const login = await fetch(`${base}/admin/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: base },
      body: `token=${ORGANISER}`,
    });
    expect(login.status).toBe(303);
    const session = login.headers.getSetCookie().find((c) => c.startsWith("lb_organiser="))!;
    const cookie = session.split(";")[0]!;
    const launches = await Promise.all(
      pair.map(async (r) => {
        const res = await fetch(`${r.base}/api/admin/overview`, { headers: { cookie } });
        expect(res.status).toBe(200);
        return (await res.json()).launches;
      }),
    );
    console.info(
      `launch statistics on both replicas: ${launches.map((l) => `count ${l.count}, p50 ${l.p50Ms} ms`).join(" | ")}`,
    );
    expect(launches[0].count).toBe(all.length);
    expect(launches[1]).toEqual(launches[0]);
  });

  it("a seat whose sandbox never appeared is given back after the grace period, not before", async () => {
    const rest = await connect(k8s.kubeconfig);
    const ledger = new KubernetesSeatLedger(rest, ns, "stale", pino({ level: "silent" }), 120_000);
    try {
      const t0 = Date.now();
      const nothing = { owned: [], state: () => "unknown" as const };
      // A replica took a seat for sb-dead and died before creating it.
      expect(
        await ledger.reserve({ ...nothing, now: t0, owner: "dead-owner", id: "sb-dead", max: 1 }),
      ).toEqual({ kind: "reserved" });
      // Control: within the grace period the seat is held (it may be being created).
      expect(
        await ledger.reserve({ ...nothing, now: t0 + 1_000, owner: "next", id: "sb-next", max: 1 }),
      ).toEqual({ kind: "full", taken: 1 });
      // Past it, nobody has seen sb-dead: the seat goes to the next attendee.
      expect(
        await ledger.reserve({
          ...nothing,
          now: t0 + 121_000,
          owner: "next",
          id: "sb-next",
          max: 1,
        }),
      ).toEqual({ kind: "reserved" });
      // A seat whose sandbox is being deleted frees at once; one that exists holds.
      const view = (state: "live" | "ending") => ({
        owned: ["sb-next"],
        state: (id: string) => (id === "sb-next" ? state : ("unknown" as const)),
        now: t0 + 122_000,
      });
      expect(await ledger.reserve({ ...view("live"), owner: "third", id: "sb-3", max: 1 })).toEqual(
        { kind: "full", taken: 1 },
      );
      expect(
        await ledger.reserve({ ...view("ending"), owner: "third", id: "sb-3", max: 2 }),
      ).toEqual({ kind: "reserved" });
      // The deleting sandbox still counts (it holds resources) until it is gone.
      expect(
        await ledger.reserve({ ...view("ending"), owner: "fourth", id: "sb-4", max: 2 }),
      ).toEqual({ kind: "full", taken: 2 });
    } finally {
      rest.close();
    }
  });

  it("the waiting line is the same on both replicas and drains in order, each launched once", async () => {
    const pair = [await replica("line"), await replica("line")];
    const base = await roundRobin(pair);
    const attendees = 8;
    const cookies: string[] = [];
    const owners: string[] = [];
    const answers: { id?: string; outcome?: string }[] = [];
    // One after the other (so the join order is known), each click on the other replica.
    for (let i = 0; i < attendees; i++) {
      const cookie = await newAttendee(base);
      cookies.push(cookie);
      owners.push((await (await fetch(`${base}/api/me`, { headers: { cookie } })).json()).attendee);
      answers.push(await click(base, cookie));
    }
    expect(answers.map((a) => a.outcome)).toEqual([
      "queued",
      "queued",
      ...Array.from({ length: attendees - 2 }, () => "waiting"),
    ]);
    // Both replicas give every waiting attendee the same position: their place in join order.
    const positionOn = async (r: Replica, i: number) => {
      const res = await fetch(`${r.base}/api/sandboxes/${answers[i]!.id}`, {
        headers: { cookie: cookies[i]! },
      });
      return res.status === 200 ? (await res.json()).position : res.status;
    };
    for (let i = 2; i < attendees; i++)
      for (const r of pair)
        await expect.poll(() => positionOn(r, i), { timeout: 30_000, interval: 100 }).toBe(i - 1);
    // Their pages stay open, each on one of the replicas.
    const sockets = answers.flatMap((a, i) =>
      a.outcome === "waiting" ? [openPage(pair[i % 2]!.base, cookies[i]!, a.id!)] : [],
    );
    // Seats free two at a time: the next two in line get them, whichever replica sees it.
    let most = 0;
    const had = new Map<string, Set<string>>();
    for (let round = 0; round < attendees / 2; round++) {
      const expected = owners.slice(round * 2, round * 2 + 2).sort();
      const [held] = [
        await watchUntil<SandboxView>(
          client,
          paths.sandboxes(ns),
          { labelSelector: "launchbay.dev/workshop=line", timeoutMs: 120_000 },
          (items) => {
            const live = items.filter((s) => s.spec.owner && !s.metadata.deletionTimestamp);
            most = Math.max(most, items.filter((s) => s.spec.owner).length);
            for (const s of items)
              if (s.spec.owner)
                had.set(s.spec.owner, (had.get(s.spec.owner) ?? new Set()).add(s.metadata.name));
            return live.length === 2;
          },
        ),
      ];
      const live = held.filter((s) => s.spec.owner && !s.metadata.deletionTimestamp);
      expect(live.map((s) => s.spec.owner).sort()).toEqual(expected);
      for (const s of live) await client.delete(`${paths.sandboxes(ns)}/${s.metadata.name}`);
    }
    for (const socket of sockets) socket.close();
    // Each attendee had exactly one sandbox, under the id their page followed while waiting.
    await watchUntil<SandboxView>(
      client,
      paths.sandboxes(ns),
      { labelSelector: "launchbay.dev/workshop=line", timeoutMs: 120_000 },
      (items) => items.length === 0,
    );
    expect(most).toBeLessThanOrEqual(2);
    for (const [i, owner] of owners.entries())
      expect([...had.get(owner)!]).toEqual([answers[i]!.id]);
  });

  it("of ten simultaneous admissions on two replicas, each head of line is seated once", async () => {
    const rests = [await connect(k8s.kubeconfig), await connect(k8s.kubeconfig)];
    const log = pino({ level: "silent" });
    const ledgers = rests.map((rest) => new KubernetesSeatLedger(rest, ns, "admit", log));
    try {
      const now = Date.now();
      const nothing = { owned: [], state: () => "live" as const, now };
      // Five attendees in line on a workshop with no seat free.
      for (let i = 0; i < 5; i++) {
        expect(
          await ledgers[i % 2]!.reserveOrJoin({
            ...nothing,
            owner: `owner-${i}`,
            id: `sb-${i}`,
            max: 0,
            maxWaiting: 10,
          }),
        ).toEqual({ kind: "waiting", id: `sb-${i}` });
      }
      // Three seats free: both replicas try to admit at once, five times each.
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          ledgers[i % 2]!.admit({ ...nothing, max: 3, graceMs: 60_000, presentMs: 30_000 }),
        ),
      );
      const seated = results.flatMap((r) => r.seated.map((p) => p.id));
      expect(seated.sort()).toEqual(["sb-0", "sb-1", "sb-2"]);
      // Control: the ledger agrees, and the rest still wait in order.
      const lease = await rests[0]!.get<{ metadata: { annotations: Record<string, string> } }>(
        `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/launchbay-seats-admit`,
      );
      expect(
        Object.keys(JSON.parse(lease.metadata.annotations["launchbay.dev/seats"]!)).sort(),
      ).toEqual(["owner-0", "owner-1", "owner-2"]);
      expect(
        JSON.parse(lease.metadata.annotations["launchbay.dev/line"]!).map(
          (p: { id: string }) => p.id,
        ),
      ).toEqual(["sb-3", "sb-4"]);
    } finally {
      for (const rest of rests) rest.close();
    }
  });
});
