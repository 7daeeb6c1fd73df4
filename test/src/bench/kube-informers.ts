/**
 * npm run bench:kube — @launchbay/kube's informer against @kubernetes/client-node's
 * (makeInformer, the ListWatch cache) on a real control plane (etcd, kube-apiserver) with
 * BENCH_SANDBOXES (default 1,000) Sandbox objects:
 *   - list+watch time to sync (start → every object in the cache);
 *   - memory held once synced (heap after GC, minus the heap before starting; and RSS);
 *   - events: the parent merge-patches every Sandbox once (32 at a time) and the informer
 *     counts the update events: events/s over the wall clock (bound by the API server's
 *     write rate, the same for all) and CPU ms the informer process spent per 1,000 events
 *     (the client's own cost).
 * Each informer runs in a child process of its own (`--expose-gc`), ROUNDS times (default 3)
 * in turn; the table shows the median. Prints a Markdown table for kube/README.md.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { cpus } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { CustomObjectsApi, KubeConfig, makeInformer } from "@kubernetes/client-node";
import { Informer, KubeClient, loadKubeConfig } from "@launchbay/kube";
import { startControlPlane } from "../k8s/control-plane.js";
import { paths, sandboxObject, smallWorkshop } from "../operator/fixtures.js";
import { connect, createNamespace, installCrds } from "../operator/kube.js";

const N = Number(process.env.BENCH_SANDBOXES ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const NS = "bench";
const IMPLEMENTATIONS = ["launchbay", "launchbay-metadata", "client-node"] as const;
type Implementation = (typeof IMPLEMENTATIONS)[number];

interface Synced {
  syncMs: number;
  heapBytes: number;
  rssBytes: number;
}
interface Counted {
  events: number;
  wallMs: number;
  cpuMs: number;
}

const gc = () => {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error("run with node --expose-gc (npm run bench:kube does)");
  collect();
  collect();
};

/** Child: runs one informer, reports sync, then counts N update events. */
async function child(impl: Implementation, kubeconfig: string) {
  const path = paths.sandboxes(NS);
  const log = { debug() {}, info() {}, warn() {}, error() {} };
  let onUpdate: () => void = () => {};
  const kc =
    impl === "client-node" ? new KubeConfig() : loadKubeConfig(kubeconfig, "default", "bench");
  if (impl === "client-node") kc.loadFromFile(kubeconfig);
  const client = impl === "client-node" ? undefined : await KubeClient.create(kc);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  let stop: () => Promise<void>;
  let size: () => number;
  if (client) {
    const informer = new Informer(client, {
      name: "bench",
      path,
      metadataOnly: impl === "launchbay-metadata",
      transform: (raw) => raw,
      log,
    });
    informer.on((e) => {
      if (e.type === "update") onUpdate();
    });
    await informer.start();
    stop = () => informer.stop();
    size = () => informer.size;
  } else {
    const api = kc.makeApiClient(CustomObjectsApi);
    const informer = makeInformer(kc, path, () =>
      api.listNamespacedCustomObject({
        group: "launchbay.dev",
        version: "v1alpha1",
        namespace: NS,
        plural: "sandboxes",
      }),
    );
    informer.on("update", () => onUpdate());
    await informer.start();
    stop = () => informer.stop();
    size = () => informer.list().length;
  }
  const syncMs = performance.now() - started;
  if (size() !== N) throw new Error(`synced ${size()} objects, expected ${N}`);
  gc();
  const synced: Synced = {
    syncMs,
    heapBytes: process.memoryUsage().heapUsed - heapBefore,
    rssBytes: process.memoryUsage().rss,
  };
  process.stdout.write(`${JSON.stringify({ synced })}\n`);
  let count = 0;
  let first = 0;
  let cpuAtFirst = process.cpuUsage();
  await new Promise<void>((resolve) => {
    onUpdate = () => {
      if (count === 0) {
        first = performance.now();
        cpuAtFirst = process.cpuUsage();
      }
      count += 1;
      if (count === N) resolve();
    };
  });
  const cpu = process.cpuUsage(cpuAtFirst);
  const counted: Counted = {
    events: count,
    wallMs: performance.now() - first,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
  process.stdout.write(`${JSON.stringify({ counted })}\n`);
  await stop();
  client?.close();
  process.exit(0);
}

/** Parent side of one round: start the child, wait for sync, patch everything, collect. */
async function round(impl: Implementation, kubeconfig: string, client: KubeClient, tag: number) {
  const proc: ChildProcess = spawn(
    process.execPath,
    ["--expose-gc", fileURLToPath(import.meta.url), "child", impl, kubeconfig],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const exited = once(proc, "exit");
  try {
    const next = async <T>(): Promise<T> => {
      const line = await lines.next();
      if (line.done) throw new Error(`the ${impl} informer process ended early`);
      return JSON.parse(line.value) as T;
    };
    const { synced } = await next<{ synced: Synced }>();
    await inBatches(names(), 32, (name) =>
      client.mergePatch(`${paths.sandboxes(NS)}/${name}`, {
        metadata: { annotations: { "bench.launchbay.dev/round": String(tag) } },
      }),
    );
    const { counted } = await next<{ counted: Counted }>();
    await exited;
    return { synced, counted };
  } finally {
    if (proc.exitCode === null) proc.kill("SIGKILL");
  }
}

const names = () => Array.from({ length: N }, (_, i) => `s-${String(i).padStart(5, "0")}`);

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

async function main() {
  console.error(`[bench] starting a control plane (${cpus().length} cores)`);
  const plane = await startControlPlane({ nodes: { count: 1, cpu: "8", memory: "32Gi" } });
  try {
    const client = await connect(plane.kubeconfig);
    await installCrds(client);
    await createNamespace(client, NS);
    await client.create(paths.workshops(NS), smallWorkshop("bench", NS, {}));
    console.error(`[bench] creating ${N} Sandboxes (no operator: they stay as written)`);
    await inBatches(names(), 32, (name) =>
      client.create(
        paths.sandboxes(NS),
        sandboxObject(name, NS, { workshop: "bench", owner: `${name}@example.org` }),
      ),
    );
    const results = new Map<Implementation, Awaited<ReturnType<typeof round>>[]>();
    let tag = 0;
    for (let r = 0; r < ROUNDS; r++) {
      for (const impl of IMPLEMENTATIONS) {
        const result = await round(impl, plane.kubeconfig, client, ++tag);
        console.error(`[bench] round ${r + 1} ${impl}: ${JSON.stringify(result)}`);
        results.set(impl, [...(results.get(impl) ?? []), result]);
      }
    }
    client.close();
    const rows = IMPLEMENTATIONS.map((impl) => {
      const rs = results.get(impl)!;
      const m = (f: (x: (typeof rs)[number]) => number) => median(rs.map(f));
      return [
        impl,
        `${m((x) => x.synced.syncMs).toFixed(0)} ms`,
        `${(m((x) => x.synced.heapBytes) / 1024 ** 2).toFixed(1)} MiB`,
        `${(m((x) => x.synced.rssBytes) / 1024 ** 2).toFixed(0)} MiB`,
        `${m((x) => (x.counted.events / x.counted.wallMs) * 1000).toFixed(0)}`,
        `${m((x) => (x.counted.cpuMs / x.counted.events) * 1000).toFixed(0)} ms`,
      ];
    });
    const header = [
      "informer",
      "list+watch to sync",
      "heap held",
      "RSS",
      "update events/s",
      "CPU per 1,000 events",
    ];
    console.log(`${N} Sandboxes, ${cpus().length} cores, median of ${ROUNDS} rounds\n`);
    console.log(`| ${header.join(" | ")} |`);
    console.log(`|${header.map(() => "---").join("|")}|`);
    for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  } finally {
    await plane.stop();
  }
}

if (process.argv[2] === "child") {
  await child(process.argv[3] as Implementation, process.argv[4]!);
} else {
  await main();
}
