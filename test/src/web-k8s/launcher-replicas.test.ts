import type { KubeClient } from "@launchbay/kube";
import {
  buildApp,
  createKubernetesBackend,
  KubernetesNonceLedger,
  type LauncherApp,
  LeaseRecords,
  MemoryNonceLedger,
  type NonceLedger,
  parseConfig,
  SandboxCredentials,
} from "@launchbay/web";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {} from "../k8s/provided-context.js";
import { inject } from "vitest";
import { paths, smallWorkshop, uniqueName } from "../operator/fixtures.js";
import { connect, createNamespace, installCrds } from "../operator/kube.js";

// Two launcher replicas of one workshop (Kubernetes backend, real control plane), the way
// the chart runs them behind a load balancer that may send each request to either. Every
// attack has a control: the same steps on one replica, or with per-process state, which is
// what main did before (a sign-in known to one replica only, a handover token redeemable
// once per replica, each replica allowing the whole rate limit).
const k8s = inject("k8s");
const ORGANISER = "organiser-token-replicas-0123456789";
const SECRET = "cookie-secret-replicas-0123456789abcdef";
let client: KubeClient;
let ns: string;
const apps: LauncherApp[] = [];
const stops: (() => void)[] = [];

async function replica(replicas: number): Promise<LauncherApp> {
  const log = pino({ level: "silent" });
  const config = parseConfig({
    backend: "kubernetes",
    organiserToken: ORGANISER,
    cookieSecret: SECRET,
    logLevel: "silent",
    kubernetes: { kubeconfig: k8s.kubeconfig, namespace: ns, workshopName: "replicas", replicas },
  });
  const { backend, workshop, shared, stopSweeping } = await createKubernetesBackend(config, log);
  stops.push(stopSweeping);
  const app = await buildApp({
    config: { ...config, workshop },
    backend,
    loggerInstance: log,
    ...shared,
  });
  apps.push(app);
  await app.ready();
  return app;
}

/** A client of its own, as each replica has. */
const replicaClient = () => connect(k8s.kubeconfig);

const signIn = (app: LauncherApp, token: string, remoteAddress = "203.0.113.7") =>
  app.inject({
    method: "POST",
    url: "/admin/login",
    remoteAddress,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    payload: `token=${encodeURIComponent(token)}`,
  });

const overview = (app: LauncherApp, cookie: string) =>
  app.inject({ method: "GET", url: "/api/admin/overview", headers: { cookie } });

beforeAll(async () => {
  client = await connect(k8s.kubeconfig);
  await installCrds(client);
  ns = uniqueName("replicas");
  await createNamespace(client, ns);
  await client.create(paths.workshops(ns), smallWorkshop("replicas", ns));
});

afterAll(async () => {
  for (const app of apps) await app.close();
  for (const stop of stops) stop();
  client?.close();
});

describe("two launcher replicas", () => {
  it("an organiser signed in on one replica is signed in on the other; sign-out ends it on both", async () => {
    const [a, b] = [await replica(2), await replica(2)];
    const login = await signIn(a, ORGANISER);
    expect(login.statusCode).toBe(303);
    const session = login.cookies.find((c) => c.name === "lb_organiser");
    expect(session).toBeDefined();
    const cookie = `lb_organiser=${session!.value}`;
    expect((await overview(a, cookie)).statusCode).toBe(200);
    expect((await overview(b, cookie)).statusCode).toBe(200);

    const out = await b.inject({ method: "POST", url: "/admin/logout", headers: { cookie } });
    expect(out.statusCode).toBe(303);
    // The copied cookie dies on the replica that did not see the sign-out.
    expect((await overview(a, cookie)).statusCode).toBe(401);
    expect((await overview(b, cookie)).statusCode).toBe(401);
  });

  it("organiser sign-in guessing gets the limit in total, not once per replica", async () => {
    // Control: one replica alone counts the whole limit (10 attempts per address).
    const single = await replica(1);
    let allowedAlone = 0;
    for (let i = 0; i < 30; i++)
      if ((await signIn(single, `wrong-token-${i}-0123456789`, "198.51.100.1")).statusCode !== 429)
        allowedAlone += 1;
    expect(allowedAlone).toBe(10);

    // Attack: the same address alternates between the two replicas of the chart.
    const pair = [await replica(2), await replica(2)];
    let allowed = 0;
    for (let i = 0; i < 30; i++) {
      const res = await signIn(pair[i % 2]!, `wrong-token-${i}-0123456789`, "198.51.100.2");
      if (res.statusCode !== 429) allowed += 1;
    }
    expect(allowed).toBeLessThanOrEqual(10);
    expect(allowed).toBeGreaterThan(0);
  });
});

describe("single-use handover tokens across replicas", () => {
  const owner = "attendee-0123456789abcdef";
  const sandbox = "s-replicas01";

  async function pair(ledgers: [NonceLedger, NonceLedger]) {
    return ledgers.map((ledger) => new SandboxCredentials(SECRET, Date.now, ledger));
  }

  it("a token redeemed on one replica is refused on the other", async () => {
    const rests = [await replicaClient(), await replicaClient()];
    try {
      const [a, b] = await pair([
        new KubernetesNonceLedger(new LeaseRecords(rests[0]!, ns, "handover-nonce")),
        new KubernetesNonceLedger(new LeaseRecords(rests[1]!, ns, "handover-nonce")),
      ]);
      const token = a!.mintHandover(sandbox, owner, "notebook");
      expect(await a!.redeemHandover(token, sandbox, owner)).toMatchObject({ ok: true });
      expect(await b!.redeemHandover(token, sandbox, owner)).toEqual({
        ok: false,
        reason: "the token was already used",
      });
      // Control: a fresh token still opens the sandbox on the other replica.
      const fresh = a!.mintHandover(sandbox, owner, "notebook");
      expect(await b!.redeemHandover(fresh, sandbox, owner)).toMatchObject({ ok: true });
    } finally {
      for (const rest of rests) rest.close();
    }
  });

  it("of 10 simultaneous redemptions on two replicas exactly one wins", async () => {
    const rests = [await replicaClient(), await replicaClient()];
    try {
      const creds = await pair([
        new KubernetesNonceLedger(new LeaseRecords(rests[0]!, ns, "handover-nonce")),
        new KubernetesNonceLedger(new LeaseRecords(rests[1]!, ns, "handover-nonce")),
      ]);
      const token = creds[0]!.mintHandover(sandbox, owner, "dashboard");
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => creds[i % 2]!.redeemHandover(token, sandbox, owner)),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
    } finally {
      for (const rest of rests) rest.close();
    }
  });

  it("per-process ledgers (what main had) let the same token in twice", async () => {
    // Shows what the test above guards against: each replica remembering on its own.
    const [a, b] = await pair([new MemoryNonceLedger(), new MemoryNonceLedger()]);
    const token = a!.mintHandover(sandbox, owner, "notebook");
    expect((await a!.redeemHandover(token, sandbox, owner)).ok).toBe(true);
    expect((await b!.redeemHandover(token, sandbox, owner)).ok).toBe(true);
  });

  it("expired records are swept; live ones stay", async () => {
    const rest = await replicaClient();
    try {
      const records = new LeaseRecords(rest, ns, "organiser-session");
      const now = Date.now();
      expect(await records.create("old-session", now - 1000, now - 60_000)).toBe(true);
      expect(await records.create("live-session", now + 60_000, now)).toBe(true);
      expect(await records.create("live-session", now + 60_000, now)).toBe(false);
      expect(await records.sweep(now)).toBeGreaterThanOrEqual(1);
      expect(await records.expiresAt("old-session")).toBeUndefined();
      expect(await records.expiresAt("live-session")).toBe(now + 60_000);
    } finally {
      rest.close();
    }
  });
});
