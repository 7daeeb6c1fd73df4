/**
 * `npm run bench:real-node`: the runtime between real pods. Starts the control plane plus
 * one real node (root), installs the chart with the images of `npm run images`, starts one
 * sandbox with larger requests than the tests' (BENCH_WORKER_CPU per worker), and runs,
 * from the sandbox's notebook pod with the `launchbay` client, (a) tiny-task throughput,
 * (b) submit→result round trip and (d) worker-to-worker transfer between two worker pods.
 * Informational: it asserts only that the results are right. Tears everything down.
 */
import { availableParallelism } from "node:os";
import { z } from "zod";
import { createRestrictedNamespace, helmEnv, kubectl, ok } from "../helm/chart-tools.js";
import {
  realNodeUnsupportedReason,
  startRealNodeCluster,
} from "../k8s/real-node/start-real-node.js";
import { installChart } from "../real-node/chart-install.js";
import { apply, getJson, podsIn } from "../real-node/pods.js";

const count = (fallback: number) => z.coerce.number().int().min(1).default(fallback);
const Config = z.object({
  BENCH_TASKS: count(5_000),
  BENCH_ROUND_TRIPS: count(500),
  BENCH_TRANSFER_MB: count(50),
  /** CPU per worker pod (request = limit); three of them must fit on the 2-core node. */
  BENCH_WORKER_CPU: z
    .string()
    .regex(/^\d+m?$/, "a CPU quantity such as 400m")
    .default("400m"),
});

/**
 * Runs inside the notebook pod (`node --input-type=module -e`): `launchbay` resolves from
 * /app/node_modules, `Client.connect()` reads the sandbox's scheduler address and token.
 * Prints one JSON line of figures.
 */
const inPodBench = `
import { Client } from "launchbay";
const [tasks, roundTrips, transferMB] = process.argv.slice(1).map(Number);
const client = await Client.connect();
const range = (n) => Array.from({ length: n }, (_, i) => i);
const noop = (x) => x;
const inc = (x) => x + 1;
const names = (await client.info()).workers.map((w) => w.name).sort();
if (names.length < 2) throw new Error("fewer than two workers: " + names.join(","));
await client.gather(client.map(noop, range(Math.min(5000, Math.ceil(tasks / 4)))));
let t0 = performance.now();
const mapped = client.map(noop, range(tasks));
const values = await client.gather(mapped);
const throughputTasksPerS = tasks / ((performance.now() - t0) / 1000);
if (values.length !== tasks || values[tasks - 1] !== tasks - 1) throw new Error("map returned wrong values");
for (const f of mapped) f.release();
for (let i = 0; i < 50; i++) await client.submit(inc, i).result();
const samples = [];
for (let i = 0; i < roundTrips; i++) {
  const s = performance.now();
  const f = client.submit(inc, i);
  if ((await f.result()) !== i + 1) throw new Error("wrong round-trip result");
  samples.push(performance.now() - s);
  f.release();
}
samples.sort((a, b) => a - b);
const at = (p) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))];
const nbytes = transferMB * 1_000_000;
let best = Infinity;
for (let i = 0; i < 3; i++) {
  const a = client.submitWith({ workers: names[0] }, (n) => new Uint8Array(n).fill(1), nbytes);
  await client.wait([a]);
  const s = performance.now();
  const b = client.submitWith({ workers: names[1] }, (bytes) => bytes.byteLength, a);
  const size = await b.result();
  best = Math.min(best, performance.now() - s);
  if (size !== nbytes) throw new Error("transfer delivered " + size + " bytes, expected " + nbytes);
  a.release();
  b.release();
}
console.log(JSON.stringify({
  from: names[0], to: names[1], throughputTasksPerS, roundTripP50Ms: at(0.5), roundTripP99Ms: at(0.99),
  transferMBPerS: nbytes / (best / 1000) / 1e6,
}));
await client.close();
`;

const Figures = z.object({
  from: z.string(),
  to: z.string(),
  throughputTasksPerS: z.number(),
  roundTripP50Ms: z.number(),
  roundTripP99Ms: z.number(),
  transferMBPerS: z.number(),
});

async function main(): Promise<number> {
  const parsed = Config.safeParse(process.env);
  if (!parsed.success) {
    throw new Error(`bad benchmark setting: ${z.prettifyError(parsed.error)}`);
  }
  const config = parsed.data;
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  const reason = await realNodeUnsupportedReason();
  if (reason) {
    log(`cannot run: ${reason}`);
    return 1;
  }
  const cluster = await startRealNodeCluster({ log: (line) => log(line) });
  process.env.LAUNCHBAY_TEST_KUBECONFIG = cluster.kubeconfig;
  process.env.LAUNCHBAY_TEST_K8S_TOOLS = cluster.toolsDir;
  const helm = await helmEnv(cluster.kubeconfig);
  let disposeValues: (() => Promise<void>) | undefined;
  try {
    const namespace = "launchbay";
    await createRestrictedNamespace(namespace);
    const install = await installChart({
      release: "lb",
      namespace,
      server: cluster.server,
      imageValues: cluster.valuesFile,
      helmEnv: helm.env,
      sandbox: {
        scheduler: { cpu: "200m", memory: "256Mi" },
        worker: { cpu: config.BENCH_WORKER_CPU, memory: "512Mi" },
        notebook: { cpu: "200m", memory: "768Mi" },
      },
    });
    disposeValues = install.dispose;
    ok(install.result, "helm install");
    const created = Date.now();
    await apply([
      {
        apiVersion: "launchbay.dev/v1alpha1",
        kind: "Sandbox",
        metadata: { name: "bench", namespace },
        spec: { workshop: "workshop", owner: "bench" },
      },
    ]);
    ok(
      await kubectl([
        "wait",
        "-n",
        namespace,
        "sandbox/bench",
        "--for=jsonpath={.status.phase}=Ready",
        "--timeout=300s",
      ]),
      "sandbox bench Ready",
    );
    const readyMs = Date.now() - created;
    const sandbox = await getJson<{ status?: { namespace?: string } }>(
      "get",
      "sandbox",
      "bench",
      "-n",
      namespace,
    );
    const sandboxNs = sandbox.status?.namespace ?? "";
    const notebook = (await podsIn(sandboxNs, "app.kubernetes.io/component=notebook"))[0];
    if (!notebook) throw new Error(`no notebook pod in ${sandboxNs}`);
    log(`sandbox Ready in ${readyMs} ms; running the benchmark in ${notebook.metadata.name}`);
    const output = ok(
      await kubectl([
        "exec",
        "-n",
        sandboxNs,
        notebook.metadata.name,
        "-c",
        "notebook",
        "--",
        "node",
        "--input-type=module",
        "-e",
        inPodBench,
        String(config.BENCH_TASKS),
        String(config.BENCH_ROUND_TRIPS),
        String(config.BENCH_TRANSFER_MB),
      ]),
      "the benchmark in the notebook pod",
    );
    const figures = Figures.parse(JSON.parse(output.trim().split("\n").pop() ?? ""));
    const rows: [string, string][] = [
      ["sandbox create → Ready (5 pods)", `${(readyMs / 1000).toFixed(1)} s`],
      [
        `(a) ${config.BENCH_TASKS} no-op tasks via map`,
        `${figures.throughputTasksPerS.toFixed(0)} tasks/s`,
      ],
      ["(b) submit → result round trip p50", `${figures.roundTripP50Ms.toFixed(2)} ms`],
      ["(b) submit → result round trip p99", `${figures.roundTripP99Ms.toFixed(2)} ms`],
      [
        `(d) ${config.BENCH_TRANSFER_MB} MB worker pod → worker pod (best of 3)`,
        `${figures.transferMBPerS.toFixed(0)} MB/s`,
      ],
    ];
    const width = Math.max(...rows.map(([label]) => label.length));
    process.stdout.write(
      `\nlaunchbay runtime between real pods: 3 worker pods × ${config.BENCH_WORKER_CPU} CPU (1 thread each), ` +
        `the client in the notebook pod, ${availableParallelism()} cores\n\n` +
        rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join("\n") +
        `\n  (${figures.from} → ${figures.to})\n`,
    );
    return 0;
  } finally {
    await disposeValues?.();
    await helm.dispose();
    await cluster.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench:real-node failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
