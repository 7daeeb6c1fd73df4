import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chownSync,
  closeSync,
  createWriteStream,
  existsSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { fileURLToPath } from "node:url";
import { crc32 } from "node:zlib";
import { defaultVenvDir, pidsWithEnvMarker, SANDBOX_ENV_MARKER } from "@launchbay/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";

// "Download my work" from a real sandbox (local backend, real JupyterLab) through the
// launcher running as its own process, so its memory can be measured from /proc while a
// 150 MiB file streams through it.
const MAIN = fileURLToPath(new URL("../../../web/dist/main.js", import.meta.url));
const MiB = 1024 * 1024;
const ORGANISER = "organiser-token-download-test-0123456789";

let dir: string;
let launcher: ChildProcess | undefined;
let base: string;
let cookie: string;
let sandboxId: string;
let work: string;

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return Number(line?.match(/(\d+)/)?.[1] ?? 0) * 1024;
}

/** Starts the launcher process and resolves with its address from its "listening" log line. */
function startLauncher(): Promise<string> {
  launcher = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      HOST: "127.0.0.1",
      PORT: "0",
      LAUNCHBAY_ORGANISER_TOKEN: ORGANISER,
      LAUNCHBAY_SANDBOXES_DIR: join(dir, "sandboxes"),
      // Its own launcher state, and every sandbox stopped when the launcher stops.
      LAUNCHBAY_STATE_DIR: join(dir, "state"),
      LAUNCHBAY_ON_EXIT: "stop",
      LAUNCHBAY_WORKERS: "1",
      LAUNCHBAY_LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  launcher.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve, reject) => {
    let buffered = "";
    launcher!.stdout!.on("data", (d: Buffer) => {
      buffered += d.toString();
      for (const line of buffered.split("\n")) {
        if (line.includes('"Launcher listening"')) resolve(JSON.parse(line).address);
      }
      buffered = buffered.slice(buffered.lastIndexOf("\n") + 1);
    });
    launcher!.on("exit", (code) => reject(new Error(`launcher exited (${code}): ${stderr}`)));
  });
}

async function download(): Promise<Response> {
  return fetch(`${base}/api/sandboxes/${sandboxId}/download`, { headers: { cookie } });
}

beforeAll(async () => {
  if (!existsSync(join(defaultVenvDir(), "bin", "jupyter-lab"))) {
    throw new Error("JupyterLab is missing: run `bash scripts/setup.sh jupyter` first");
  }
  dir = mkdtempSync(join(tmpdir(), "lb-download-"));
  base = await startLauncher();
  const first = await fetch(`${base}/`);
  cookie = first.headers.get("set-cookie")!.split(";")[0]!;
  const launched = await fetch(`${base}/api/sandboxes`, {
    method: "POST",
    headers: { cookie, "content-type": "application/json", origin: base },
    body: "{}",
  });
  expect(launched.status).toBe(201);
  sandboxId = ((await launched.json()) as { id: string }).id;
  // Wait on the progress stream (an event per change) until the sandbox is Ready.
  await new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(`${base.replace("http", "ws")}/api/sandboxes/${sandboxId}/events`, {
      headers: { cookie, origin: base },
    });
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString()) as { type: string; sandbox?: { phase: string } };
      if (msg.sandbox?.phase === "Ready") {
        ws.close();
        resolve();
      } else if (msg.sandbox?.phase === "Failed" || msg.type === "gone") {
        ws.close();
        reject(new Error(`the sandbox did not start: ${data.toString()}`));
      }
    });
    ws.on("error", reject);
  });
  work = join(dir, "sandboxes", sandboxId, "work");
});

afterAll(async () => {
  if (launcher && launcher.exitCode === null) {
    const exited = new Promise((r) => launcher!.once("exit", r));
    launcher.kill("SIGTERM");
    await exited;
  }
  if (sandboxId) expect(pidsWithEnvMarker(SANDBOX_ENV_MARKER, sandboxId)).toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `bytes` of random data (1 MiB blocks) as the work directory's owner; returns its CRC-32. */
function writeWorkFile(name: string, bytes: number): number {
  const path = join(work, name);
  const fd = openSync(path, "w");
  let crc = 0;
  for (let written = 0; written < bytes; written += MiB) {
    const block = randomBytes(Math.min(MiB, bytes - written));
    crc = crc32(block, crc);
    writeSync(fd, block);
  }
  closeSync(fd);
  const owner = statSync(work);
  chownSync(path, owner.uid, owner.gid);
  return crc;
}

describe("download my work from a real sandbox", () => {
  it("streams a 150 MiB file with the launcher's memory flat, and refuses work over the limit", async () => {
    const pid = launcher!.pid!;
    // Warm-up: one download of the tutorial notebooks, so lazy start-up costs are paid.
    const warm = await download();
    expect(warm.status).toBe(200);
    await warm.arrayBuffer();

    const size = 150 * MiB;
    const crc = writeWorkFile("big.bin", size);
    const baseline = rssBytes(pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssBytes(pid));
    }, 20);
    const zipPath = join(dir, "work.zip");
    try {
      const res = await download();
      expect(res.status).toBe(200);
      await pipeline(
        Readable.fromWeb(res.body as unknown as WebReadableStream),
        createWriteStream(zipPath),
      );
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, rssBytes(pid));
    const growth = peak - baseline;
    console.log(
      `launcher RSS during a ${size / MiB} MiB download: baseline ${(baseline / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB, growth ${(growth / MiB).toFixed(1)} MiB`,
    );
    // Buffering the file even once would grow the launcher by more than the file (the old
    // code grew by ~1.1 GiB); streamed, it grows by its buffers only (32-44 MiB on Node 20,
    // ~80 MiB on Node 24, whose GC lets more of them accumulate).
    expect(growth).toBeLessThan((size * 2) / 3);

    const check =
      "import zipfile,sys,json\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\ni=z.getinfo('big.bin')\nprint(json.dumps({'size':i.file_size,'crc':i.CRC,'names':z.namelist()}))";
    const info = JSON.parse(execFileSync("python3", ["-c", check, zipPath]).toString()) as {
      size: number;
      crc: number;
      names: string[];
    };
    expect(info.size).toBe(size);
    expect(info.crc).toBe(crc);
    expect(info.names).toContain("big.bin");

    // Over the limit (200 MiB by default): refused with a clear error before any byte.
    const huge = openSync(join(work, "huge.bin"), "w");
    ftruncateSync(huge, 100 * MiB); // sparse: 150 + 100 MiB listed
    closeSync(huge);
    const refused = await download();
    expect(refused.status).toBe(413);
    const body = (await refused.json()) as { code: string; message: string };
    expect(body.code).toBe("download-too-large");
    expect(body.message).toContain("more than 200 MiB");
  });
});
