import { type KubeClient, watchUntil } from "@launchbay/kube";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import {
  isReady,
  paths,
  type SandboxView,
  sandboxObject,
  smallWorkshop,
  uniqueName,
} from "./fixtures.js";
import { connect, createNamespace, installCrds } from "./kube.js";
import { isMsg, type OperatorProcess, startOperator } from "./operator-process.js";
import { seededRandom } from "../seeded-random.js";

const k8s = inject("k8s");
const SEED = Number(process.env.LAUNCHBAY_CHAOS_SEED ?? 20260301);
let client: KubeClient;
const running = new Set<OperatorProcess>();

function operator(args: string[]) {
  const p = startOperator(k8s.kubeconfig, args);
  running.add(p);
  p.exited.then(() => running.delete(p));
  return p;
}

beforeAll(async () => {
  client = await connect(k8s.kubeconfig);
  await installCrds(client);
});

afterEach(async () => {
  await Promise.all([...running].map((p) => p.kill()));
});

afterAll(() => client?.close());

/** Resolves at a wall-clock instant (the test needs time itself to pass, e.g. an expiry). */
const until = (at: number) => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));

describe("operator restarts", () => {
  it(`leaves no orphaned namespaces or duplicate objects when killed mid-reconcile repeatedly (seed ${SEED}), and still expires on time`, {
    timeout: 240_000,
  }, async () => {
    const random = seededRandom(SEED);
    const ns = uniqueName("chaos");
    await createNamespace(client, ns);
    await client.create(
      paths.workshops(ns),
      smallWorkshop("chaos", ns, {
        sandbox: {
          workers: 1,
          resources: {
            worker: { cpu: "50m", memory: "64Mi" },
            scheduler: { cpu: "50m", memory: "64Mi" },
            notebook: { cpu: "50m", memory: "64Mi" },
          },
        },
      }),
    );
    const names = Array.from({ length: 10 }, (_, i) => `s${i}`);
    const short = new Set(names.slice(0, 3));
    const deleted = new Set(names.slice(8));
    for (const name of names) {
      await client.create(
        paths.sandboxes(ns),
        sandboxObject(name, ns, { workshop: "chaos", owner: name }),
      );
    }

    const debug = ["--leader-elect", "false", "--log-level", "debug", "--concurrency", "4"];
    for (let round = 0; round < 6; round++) {
      const p = operator(debug);
      const killAfter = 1 + Math.floor(random() * 8);
      let seen = 0;
      // Kill on the k-th reconcile that wrote objects; if the operator goes quiet first
      // (nothing left to write), kill it there.
      await p
        .waitForLog((l) => l.msg === "Applied children" && ++seen >= killAfter, 8_000)
        .catch(() => undefined);
      await p.kill();
      if (round === 2)
        for (const name of deleted) await client.delete(`${paths.sandboxes(ns)}/${name}`);
    }

    let p = operator(debug);
    await watchUntil<SandboxView>(client, paths.sandboxes(ns), { timeoutMs: 90_000 }, (items) =>
      names
        .filter((n) => !deleted.has(n))
        .every((n) => isReady(items.find((s) => s.metadata.name === n))),
    );
    // Shorten some sandboxes' lives (as the launcher's bulk expire does), then kill the
    // operator just before that moment and start it after: the new one expires them at once.
    const expiresAt = new Date(Date.now() + 8_000);
    for (const name of short) {
      await client.mergePatch(`${paths.sandboxes(ns)}/${name}`, {
        spec: { expiresAt: expiresAt.toISOString() },
      });
    }
    await until(expiresAt.getTime() - 3000);
    await p.kill();
    await until(expiresAt.getTime() + 1000);
    const restartedAt = Date.now();
    p = operator(debug);
    // The restarted operator deletes the overdue sandboxes as soon as its caches sync...
    await watchUntil<SandboxView>(client, paths.sandboxes(ns), { timeoutMs: 30_000 }, (items) =>
      items.every((s) => !short.has(s.metadata.name) || Boolean(s.metadata.deletionTimestamp)),
    );
    const deletionRequestedAfter = Date.now() - restartedAt;
    // ...and they are gone once Kubernetes has removed their namespaces.
    await watchUntil<SandboxView>(client, paths.sandboxes(ns), { timeoutMs: 30_000 }, (items) =>
      items.every((s) => !short.has(s.metadata.name)),
    );
    // Reported, not asserted: time depends on the machine (the watch timeouts bound it).
    console.info(
      `restart: overdue sandboxes marked for deletion ${deletionRequestedAfter} ms and gone ${Date.now() - restartedAt} ms after the new operator started`,
    );

    // Every managed namespace belongs to a live sandbox; deleted and expired ones are gone.
    const live = names.filter((n) => !short.has(n) && !deleted.has(n));
    const sandboxes = (await client.get<{ items: SandboxView[] }>(paths.sandboxes(ns))).items;
    expect(sandboxes.map((s) => s.metadata.name).sort()).toEqual(live.sort());
    const wanted = new Set(sandboxes.map((s) => s.status!.namespace!));
    await watchUntil<{ metadata: { name: string; labels: Record<string, string> } }>(
      client,
      paths.namespaces,
      { labelSelector: `launchbay.dev/sandbox-namespace=${ns}`, timeoutMs: 60_000 },
      (items) => items.length === wanted.size && items.every((i) => wanted.has(i.metadata.name)),
    );
    for (const sns of wanted) {
      const count = async (path: string) =>
        (await client.get<{ items: unknown[] }>(path)).items.length;
      expect(await count(paths.deployments(sns))).toBe(3);
      expect(await count(`/api/v1/namespaces/${sns}/services`)).toBe(3);
      expect(await count(paths.networkPolicies(sns))).toBe(5);
      expect(await count(`/api/v1/namespaces/${sns}/secrets`)).toBe(1);
      expect(await count(paths.pods(sns))).toBe(3);
    }
    await p.stop();
  });

  it("runs one leader at a time and hands over when the leader stops", async () => {
    const lease = uniqueName("lease");
    const args = [
      "--leader-elect",
      "true",
      "--lease-namespace",
      "default",
      "--lease-name",
      lease,
      "--lease-duration-seconds",
      "4",
      "--renew-deadline-seconds",
      "3",
      "--retry-period-seconds",
      "1",
    ];
    const a = operator(args);
    await a.waitForLog(isMsg("Became leader"));
    const b = operator(args);
    await b.waitForLog(isMsg("Caches synced"));
    // b keeps retrying every second; after a few retries it still must not lead.
    const [leaseObj] = await watchUntil<{ spec: { holderIdentity: string; renewTime: string } }>(
      client,
      "/apis/coordination.k8s.io/v1/namespaces/default/leases",
      { name: lease, timeoutMs: 5_000 },
      ([l]) => l !== undefined,
    );
    const holder = leaseObj!.spec.holderIdentity;
    expect(a.logs.find(isMsg("Became leader"))!.identity).toBe(holder);
    expect(b.logs.some(isMsg("Became leader"))).toBe(false);
    const stoppedAt = Date.now();
    expect(await a.stop()).toBe(0);
    await b.waitForLog(isMsg("Became leader"), 30_000);
    console.info(`leader hand-over: ${Date.now() - stoppedAt} ms after the leader stopped`);
    await b.stop();
  });
});
