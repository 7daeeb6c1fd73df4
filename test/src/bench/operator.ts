/**
 * npm run bench:operator — the operator against a real control plane (etcd,
 * kube-apiserver, controller manager, scheduler, kwok nodes), all on this machine:
 *   1. create N Sandboxes at once (default 500) → time until all Ready, API requests per
 *      sandbox, operator peak memory;
 *   2. grow to M (default 1,000) → steady-state operator memory;
 *   3. expire all (spec.expiresAt = now) → time until every sandbox namespace is gone.
 * BENCH_SANDBOXES / BENCH_STEADY_SANDBOXES change N and M. Prints a table.
 */
import { type KubeClient, watchUntil } from "@launchbay/kube";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { startControlPlane } from "../k8s/control-plane.js";
import { paths, smallWorkshop } from "../operator/fixtures.js";
import { connect, createNamespace, installCrds } from "../operator/kube.js";
import { isMsg, type OperatorProcess, startOperator } from "../operator/operator-process.js";

const N = Number(process.env.BENCH_SANDBOXES ?? 500);
const M = Number(process.env.BENCH_STEADY_SANDBOXES ?? 1000);
const NS = "bench";

interface SandboxLite {
  metadata: { name: string };
  status?: { phase?: string };
}

/** Samples the operator's resident memory from /proc every 250 ms. */
function rssSampler(pid: number) {
  let peak = 0;
  let last = 0;
  const read = () => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) {
        last = Number(m[1]) * 1024;
        peak = Math.max(peak, last);
      }
    } catch {
      // process gone
    }
  };
  const timer = setInterval(read, 250);
  read();
  return {
    get peak() {
      return peak;
    },
    get last() {
      return last;
    },
    resetPeak() {
      read();
      peak = last;
    },
    stop: () => clearInterval(timer),
  };
}

async function operatorRequests(healthUrl: string): Promise<number> {
  const text = await (await fetch(`${healthUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split("\n")) {
    const m = /^launchbay_operator_kube_requests_total\{verb="([A-Z]+)",[^}]*\} (\d+)/.exec(line);
    if (m && m[1] !== "WATCH") total += Number(m[2]);
  }
  return total;
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

const allReady = (count: number) => (items: SandboxLite[]) =>
  items.length >= count && items.every((s) => s.status?.phase === "Ready");

async function createSandboxes(client: KubeClient, from: number, to: number) {
  const names = Array.from(
    { length: to - from },
    (_, i) => `s${String(from + i).padStart(4, "0")}`,
  );
  await inBatches(names, 32, (name) =>
    client.create(paths.sandboxes(NS), {
      apiVersion: "launchbay.dev/v1alpha1",
      kind: "Sandbox",
      metadata: { name, namespace: NS },
      spec: { workshop: "bench", owner: name },
    }),
  );
}

const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main() {
  console.error(`[bench] starting a control plane (${cpus().length} cores)`);
  const plane = await startControlPlane({
    nodes: { count: 10, cpu: "1000", memory: "4Ti", pods: 1000 },
  });
  let operator: OperatorProcess | undefined;
  let sampler: ReturnType<typeof rssSampler> | undefined;
  const rows: [string, string, string][] = [];
  try {
    const client = await connect(plane.kubeconfig);
    await installCrds(client);
    await createNamespace(client, NS);
    await client.create(
      paths.workshops(NS),
      smallWorkshop("bench", NS, {
        sandbox: {
          workers: 3,
          resources: {
            scheduler: { cpu: "10m", memory: "32Mi" },
            worker: { cpu: "10m", memory: "32Mi" },
            notebook: { cpu: "10m", memory: "32Mi" },
          },
        },
      }),
    );
    operator = startOperator(plane.kubeconfig, ["--leader-elect", "false", "--log-level", "info"]);
    const started = await operator.waitForLog(isMsg("Operator starting"));
    const healthUrl = `http://${String(started.health)}`;
    await operator.waitForLog(isMsg("Caches synced"));
    sampler = rssSampler(operator.child.pid!);
    const idleRss = sampler.last;

    // 1. N at once.
    const requestsBefore = await operatorRequests(healthUrl);
    const t0 = Date.now();
    // The operator's own part is done when every sandbox's Deployments exist; the rest
    // (ReplicaSets, pods, scheduling) is the controller manager's, scheduler's and kwok's.
    const applied = watchUntil(
      client,
      "/apis/apps/v1/deployments",
      { labelSelector: `launchbay.dev/sandbox-namespace=${NS}`, timeoutMs: 600_000 },
      (items) => items.length >= 3 * N,
    ).then(() => Date.now() - t0);
    await createSandboxes(client, 0, N);
    const created = Date.now() - t0;
    await watchUntil<SandboxLite>(
      client,
      paths.sandboxes(NS),
      { timeoutMs: 1_200_000 },
      allReady(N),
    );
    const readyMs = Date.now() - t0;
    const appliedMs = await applied;
    const requests = (await operatorRequests(healthUrl)) - requestsBefore;
    const peakN = sampler.peak;
    console.error(`[bench] ${N} Ready in ${secs(readyMs)}`);
    rows.push([`${N} sandboxes created at once → all Ready`, secs(readyMs), "≤ 60 s"]);
    rows.push(["  creating the Sandbox objects (bench client)", secs(created), ""]);
    rows.push(["  operator: every sandbox's objects applied", secs(appliedMs), ""]);
    rows.push([`  pods created and Ready (${N * 5} pods)`, secs(readyMs - appliedMs), ""]);
    rows.push([
      "API requests per sandbox (operator, excl. watches)",
      (requests / N).toFixed(1),
      "",
    ]);
    rows.push([`operator peak memory (RSS) during ${N}`, mib(peakN), ""]);

    // 2. Grow to M, then hold.
    await createSandboxes(client, N, M);
    await watchUntil<SandboxLite>(
      client,
      paths.sandboxes(NS),
      { timeoutMs: 1_800_000 },
      allReady(M),
    );
    console.error(`[bench] ${M} Ready; holding 20 s for steady state`);
    sampler.resetPeak();
    await new Promise((r) => setTimeout(r, 20_000));
    rows.push([
      `operator steady-state memory at ${M} (max RSS over 20 s)`,
      mib(sampler.peak),
      "≤ 256 MiB",
    ]);
    rows.push(["operator memory with no sandboxes", mib(idleRss), ""]);

    // 3. Expire all.
    const t2 = Date.now();
    const now = new Date().toISOString();
    const names = Array.from({ length: M }, (_, i) => `s${String(i).padStart(4, "0")}`);
    await inBatches(names, 32, (name) =>
      client.mergePatch(`${paths.sandboxes(NS)}/${name}`, { spec: { expiresAt: now } }),
    );
    await watchUntil(
      client,
      paths.sandboxes(NS),
      { timeoutMs: 1_800_000 },
      (items) => items.length === 0,
    );
    await watchUntil(
      client,
      paths.namespaces,
      { labelSelector: `launchbay.dev/sandbox-namespace=${NS}`, timeoutMs: 1_800_000 },
      (items) => items.length === 0,
    );
    rows.push([`expire all ${M} → every namespace gone`, secs(Date.now() - t2), ""]);
    client.close();
  } finally {
    sampler?.stop();
    await operator?.stop();
    await plane.stop();
  }
  const width = Math.max(...rows.map((r) => r[0].length));
  const lines = [
    `| ${"measure".padEnd(width)} | value      | target    |`,
    `| ${"-".repeat(width)} | ---------- | --------- |`,
    ...rows.map(([a, b, c]) => `| ${a.padEnd(width)} | ${b.padEnd(10)} | ${c.padEnd(9)} |`),
  ];
  process.stdout.write(
    `\nlaunchbay operator benchmark (${cpus().length} cores, kwok nodes)\n${lines.join("\n")}\n`,
  );
}

main().catch((error) => {
  console.error(`bench:operator failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
