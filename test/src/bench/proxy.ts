/**
 * `npm run bench:proxy`: the launcher's former own reverse proxy (node-http-proxy.ts,
 * node:http) against @fastify/reply-from (undici, what the launcher uses now), side by side, each in
 * its own process in front of the same upstream process:
 *  1. small: 1 KiB JSON answers (Jupyter's API calls), autocannon with 32 connections
 *     for BENCH_PROXY_SECONDS (default 8) s: requests/s, p50 and p99 latency;
 *  2. download: BENCH_PROXY_MIB (default 256) MiB streamed through, three times: MiB/s;
 *  3. upload: 64 KiB request bodies (notebook saves), autocannon: requests/s.
 * Variants alternate (own, reply-from, own, reply-from) and each figure is the better of
 * its two rounds, so a noisy neighbour on a shared machine hurts both alike. Results go to
 * stdout and test-results/bench/proxy.json; the ratios are what to quote.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

const SERVER = fileURLToPath(new URL("./proxy-server.js", import.meta.url));
const SECONDS = Number(process.env.BENCH_PROXY_SECONDS ?? 8);
const MIB = Number(process.env.BENCH_PROXY_MIB ?? 256);
type Variant = "own" | "reply-from";

interface Started {
  child: ChildProcess;
  port: number;
}

function start(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, [SERVER, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      const m = /^listening (\d+)$/.exec(line);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once("exit", (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

function stop(s: Started): Promise<void> {
  return new Promise((resolve) => {
    if (s.child.exitCode !== null) return resolve();
    s.child.once("exit", () => resolve());
    s.child.kill("SIGTERM");
  });
}

async function cannon(url: string, options: Partial<autocannon.Options> = {}) {
  // The instance is an event emitter and a promise of the result.
  const run = autocannon({
    url,
    connections: 32,
    duration: SECONDS,
    ...options,
  }) as unknown as Promise<autocannon.Result> & autocannon.Instance;
  const kinds = new Map<string, number>();
  run.on("reqError", (err: NodeJS.ErrnoException) => {
    const kind = err.code ?? err.message;
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  });
  const result = await run;
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(
      `${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors (${[...kinds].map(([k, n]) => `${k} ×${n}`).join(", ")})`,
    );
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

async function download(base: string): Promise<number> {
  let best = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const res = await fetch(`${base}/s/sb-bench/notebook/big?mib=${MIB}`);
    let bytes = 0;
    for await (const chunk of res.body!) bytes += (chunk as Uint8Array).length;
    if (bytes !== MIB * 1024 * 1024) throw new Error(`download: ${bytes} bytes, wanted ${MIB} MiB`);
    best = Math.max(best, MIB / ((performance.now() - t0) / 1000));
  }
  return best;
}

async function round(variant: Variant, upstreamPort: number) {
  const proxy = await start([variant, String(upstreamPort)]);
  console.error(`[bench:proxy] ${variant} on port ${proxy.port}`);
  try {
    const base = `http://127.0.0.1:${proxy.port}`;
    const small = await cannon(`${base}/s/sb-bench/notebook/api/contents`);
    const mibPerSecond = await download(base);
    const upload = await cannon(`${base}/s/sb-bench/notebook/api/contents/save`, {
      method: "POST",
      body: "u".repeat(64 * 1024),
      headers: { "content-type": "application/octet-stream" },
    });
    return { small, mibPerSecond, uploadRps: upload.rps };
  } finally {
    await stop(proxy);
  }
}

type Round = Awaited<ReturnType<typeof round>>;
const better = (a: Round, b: Round): Round => ({
  small: {
    rps: Math.max(a.small.rps, b.small.rps),
    p50: Math.min(a.small.p50, b.small.p50),
    p99: Math.min(a.small.p99, b.small.p99),
  },
  mibPerSecond: Math.max(a.mibPerSecond, b.mibPerSecond),
  uploadRps: Math.max(a.uploadRps, b.uploadRps),
});

async function main(): Promise<void> {
  const upstream = await start(["upstream"]);
  try {
    const rounds: Record<Variant, Round[]> = { own: [], "reply-from": [] };
    for (let i = 0; i < 2; i++)
      for (const variant of ["own", "reply-from"] as const)
        rounds[variant].push(await round(variant, upstream.port));
    const own = better(rounds.own[0]!, rounds.own[1]!);
    const lib = better(rounds["reply-from"][0]!, rounds["reply-from"][1]!);
    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    const summary = {
      own,
      replyFrom: lib,
      ratios: {
        smallRps: ratio(own.small.rps, lib.small.rps),
        smallP50: ratio(own.small.p50, lib.small.p50),
        downloadMiBps: ratio(own.mibPerSecond, lib.mibPerSecond),
        uploadRps: ratio(own.uploadRps, lib.uploadRps),
      },
    };
    console.log(JSON.stringify(summary, null, 2));
    const dir = join(process.cwd(), "test-results", "bench");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "proxy.json"), JSON.stringify(summary, null, 2));
  } finally {
    await stop(upstream);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
