import { type IncomingHttpHeaders, request } from "node:http";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  chownSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultVenvDir, pidsWithEnvMarker, SANDBOX_ENV_MARKER } from "@launchbay/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";

// Finding 3 of issue 10: the launcher (web/dist/main.js, a real process, as root like CI)
// is killed with -9 while two sandboxes run and a third is starting, then started again on
// the same state directory. Real sandboxes: scheduler, a worker and JupyterLab each.
const MAIN = fileURLToPath(new URL("../../../web/dist/main.js", import.meta.url));
const isRoot = process.getuid?.() === 0;

interface Launcher {
  child: ChildProcess;
  base: string;
  exited: Promise<void>;
  /** Milliseconds from spawn until it listened (it has reconciled by then). */
  startMs: number;
}

let dir: string;
let stateDir: string;
const launchers: Launcher[] = [];

function startLauncher(
  state: string,
  sandboxes: string,
  env: Record<string, string> = {},
): Promise<Launcher> {
  const started = Date.now();
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/root",
      HOST: "127.0.0.1",
      PORT: "0",
      LAUNCHBAY_STATE_DIR: state,
      // (A launcher without a state directory put its generated organiser token here.)
      LAUNCHBAY_CACHE: state,
      LAUNCHBAY_SANDBOXES_DIR: sandboxes,
      LAUNCHBAY_VENV: defaultVenvDir(),
      LAUNCHBAY_WORKERS: "1",
      LAUNCHBAY_LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    let buffered = "";
    child.stdout!.on("data", (d: Buffer) => {
      buffered += d.toString();
      for (const line of buffered.split("\n")) {
        if (line.includes('"Launcher listening"')) {
          const launcher = {
            child,
            base: JSON.parse(line).address,
            exited,
            startMs: Date.now() - started,
          };
          launchers.push(launcher);
          resolve(launcher);
        }
      }
      buffered = buffered.slice(buffered.lastIndexOf("\n") + 1);
    });
    child.once("exit", (code) => reject(new Error(`launcher exited (${code}): ${stderr}`)));
  });
}

async function stopLauncher(launcher: Launcher, signal: NodeJS.Signals): Promise<void> {
  launcher.child.kill(signal);
  await launcher.exited;
}

async function newAttendee(base: string): Promise<string> {
  const res = await fetch(`${base}/`);
  return res.headers.get("set-cookie")!.split(";")[0]!;
}

async function launch(base: string, cookie: string): Promise<string> {
  const res = await fetch(`${base}/api/sandboxes`, {
    method: "POST",
    headers: { cookie, "content-type": "application/json", origin: base },
    body: "{}",
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** Waits on the sandbox's event stream until `done` says so (or it fails). */
function waitFor(
  base: string,
  cookie: string,
  id: string,
  done: (sandbox: { phase: string; steps?: { label: string; done: boolean }[] }) => boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace("http", "ws")}/api/sandboxes/${id}/events`, {
      headers: { cookie, origin: base },
    });
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString()) as {
        type: string;
        sandbox?: { phase: string; steps?: { label: string; done: boolean }[] };
      };
      if (msg.sandbox && done(msg.sandbox)) {
        ws.close();
        resolve();
      } else if (msg.sandbox?.phase === "Failed" || msg.type === "gone") {
        ws.close();
        reject(new Error(`sandbox ${id}: ${data.toString()}`));
      }
    });
    ws.on("error", reject);
  });
}

async function phaseOf(
  base: string,
  cookie: string,
  id: string,
): Promise<{ status: number; phase?: string }> {
  const res = await fetch(`${base}/api/sandboxes/${id}`, { headers: { cookie } });
  const body = (await res.json()) as { phase?: string };
  return { status: res.status, phase: body.phase };
}

async function used(base: string, token: string): Promise<number> {
  const res = await fetch(`${base}/api/admin/overview`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { capacity: { used: number } }).capacity.used;
}

/** A GET to the launcher's port with the given Host (a sandbox origin, `<id>.localhost`). */
function onHost(
  host: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: Number(host.split(":")[1]), path, headers: { host, ...headers } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/**
 * A file of the attendee's, read back from their JupyterLab through the launcher's proxy
 * on the sandbox's own origin, after the handover the sandbox page would do.
 */
async function readThroughProxy(
  base: string,
  cookie: string,
  id: string,
  name: string,
): Promise<string> {
  const open = await fetch(`${base}/s/${id}/open/notebook`, {
    headers: { cookie },
    redirect: "manual",
  });
  expect(open.status).toBe(303);
  const handover = new URL(open.headers.get("location")!);
  const landed = await onHost(handover.host, handover.pathname + handover.search, {});
  const sandboxCookie = String(landed.headers["set-cookie"]).split(";")[0]!;
  const res = await onHost(handover.host, `/s/${id}/notebook/api/contents/${name}?content=1`, {
    cookie: sandboxCookie,
  });
  expect(res.status).toBe(200);
  return (JSON.parse(res.body) as { content: string }).content;
}

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(") ") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** Each process as pid@start-time, so a reused pid is not mistaken for the same process. */
function processesOf(id: string): string[] {
  return pidsWithEnvMarker(SANDBOX_ENV_MARKER, id)
    .map((pid) => `${pid}@${startTime(pid)}`)
    .filter((p) => !p.endsWith("@undefined"))
    .sort();
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return Number(stat.slice(stat.lastIndexOf(") ") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/**
 * The sandbox's services (scheduler, workers, JupyterLab): its processes whose parent is
 * not one of its own (whatever a service starts for a moment is left out).
 */
function servicesOf(id: string): string[] {
  const pids = new Set(pidsWithEnvMarker(SANDBOX_ENV_MARKER, id));
  return processesOf(id).filter((p) => !pids.has(parentOf(Number(p.split("@")[0])) ?? -1));
}

const t0 = Date.now();
const stage = (what: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${what}`);

const attendees: { cookie: string; id: string; file: string }[] = [];
let starting: { cookie: string; id: string };
let token: string;

beforeAll(() => {
  if (!existsSync(join(defaultVenvDir(), "bin", "jupyter-lab"))) {
    throw new Error("JupyterLab is missing: run `bash scripts/setup.sh jupyter` first");
  }
  dir = mkdtempSync(join(tmpdir(), "lb-restart-"));
  stateDir = join(dir, "state");
});

afterAll(async () => {
  for (const launcher of launchers) {
    // (Only the last one can still run.)
    if (launcher.child.exitCode === null && launcher.child.signalCode === null)
      await stopLauncher(launcher, "SIGKILL");
  }
  // Whatever the test left: one launcher that stops everything on exit.
  if (existsSync(join(stateDir, "launcher.db"))) {
    const last = await startLauncher(stateDir, join(dir, "sandboxes"), {
      LAUNCHBAY_ON_EXIT: "stop",
    });
    await stopLauncher(last, "SIGTERM");
  }
  const ids = [...attendees.map((a) => a.id), ...(starting ? [starting.id] : [])];
  const left = ids.flatMap((id) => processesOf(id));
  const users = ids
    .map((id) => `lb-${id.replace(/^sb-/, "").toLowerCase()}`.slice(0, 32))
    .filter((user) => {
      try {
        execFileSync("id", ["-u", user], { stdio: "ignore" });
        return true;
      } catch {
        return false;
      }
    });
  // Whatever a failed run left behind goes, then the test says so.
  for (const p of left) {
    try {
      process.kill(Number(p.split("@")[0]), "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
  for (let i = 0; i < 100 && ids.some((id) => processesOf(id).length > 0); i += 1)
    await new Promise((resolve) => setTimeout(resolve, 50));
  for (const user of users) {
    try {
      execFileSync("userdel", [user], { stdio: "ignore" });
    } catch {
      // Reported below all the same.
    }
  }
  for (const id of left.length > 0 ? ids : []) {
    for (const c of ["", "memory/", "cpu/", "pids/"]) {
      try {
        rmdirSync(`/sys/fs/cgroup/${c}launchbay/${id}`);
      } catch {
        // Not there, or not this hierarchy.
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
  expect(left).toEqual([]);
  expect(users).toEqual([]);
});

describe.runIf(isRoot)("launcher restarts (local backend, real sandboxes)", () => {
  it("launcher kill -9 with sandboxes running and launching: restart re-adopts them, no orphans, cookies still valid", async () => {
    const first = await startLauncher(stateDir, join(dir, "sandboxes"));
    token = readFileSync(join(stateDir, "organiser-token"), "utf8").trim();

    for (let i = 0; i < 2; i += 1) {
      const cookie = await newAttendee(first.base);
      attendees.push({ cookie, id: await launch(first.base, cookie), file: `mine-${i}.txt` });
    }
    stage("launched two sandboxes");
    await Promise.all(
      attendees.map((a) => waitFor(first.base, a.cookie, a.id, (s) => s.phase === "Ready")),
    );
    stage("two sandboxes Ready");
    // Work of each attendee, saved in their sandbox as their sandbox's user.
    for (const a of attendees) {
      const work = join(dir, "sandboxes", a.id, "work");
      writeFileSync(join(work, a.file), `work of ${a.id}\n`);
      chownSync(join(work, a.file), statSync(work).uid, statSync(work).gid);
      expect(await readThroughProxy(first.base, a.cookie, a.id, a.file)).toBe(`work of ${a.id}\n`);
    }
    // A third attendee whose sandbox is half started: its scheduler runs, the rest is coming.
    const cookie = await newAttendee(first.base);
    starting = { cookie, id: await launch(first.base, cookie) };
    await waitFor(first.base, cookie, starting.id, () => processesOf(starting.id).length > 0);
    expect(await used(first.base, token)).toBe(3);

    const before = new Map(attendees.map((a) => [a.id, servicesOf(a.id)]));
    const startingBefore = processesOf(starting.id);
    const oldProcesses = [...before.values()].flat().length + startingBefore.length;
    // Two sandboxes of a scheduler, a worker and JupyterLab each, and at least the scheduler of the third.
    expect([...before.values()].map((p) => p.length)).toEqual([3, 3]);
    expect(oldProcesses).toBeGreaterThanOrEqual(2 * 3 + 1);

    stage(`third sandbox starting (${startingBefore.length} processes); kill -9`);
    first.child.kill("SIGKILL");
    await first.exited;

    const restartAt = Date.now();
    const second = await startLauncher(stateDir, join(dir, "sandboxes"));
    const servingMs = Date.now() - restartAt;
    stage("restarted launcher listening");
    const phases = await Promise.all(
      [...attendees, starting].map((a) => phaseOf(second.base, a.cookie, a.id)),
    );
    const attendeesLost = phases.filter((p) => p.status !== 200).length;
    // The same cookies see their sandboxes Ready at once: the same processes, re-adopted.
    for (const a of attendees) {
      expect(await phaseOf(second.base, a.cookie, a.id)).toEqual({ status: 200, phase: "Ready" });
      expect(await readThroughProxy(second.base, a.cookie, a.id, a.file)).toBe(`work of ${a.id}\n`);
      expect(servicesOf(a.id)).toEqual(before.get(a.id));
    }
    // The half-started one is started again for the same attendee; nothing of the first try is left.
    await waitFor(second.base, starting.cookie, starting.id, (s) => s.phase === "Ready");
    const readyMs = Date.now() - restartAt;
    stage("restarted sandbox Ready");
    const orphans = startingBefore.filter((p) => processesOf(starting.id).includes(p));
    expect(orphans).toEqual([]);
    expect(await used(second.base, token)).toBe(3);
    expect(attendeesLost).toBe(0);
    // The secrets and the database are kept where only the launcher's user can read them.
    for (const file of ["organiser-token", "cookie-secret", "launcher.db"])
      expect(statSync(join(stateDir, file)).mode & 0o777).toBe(0o600);
    console.log(
      `kill -9 restart: ${oldProcesses} sandbox processes before; re-adopted ${[...before.values()].flat().length}, ` +
        `stopped ${startingBefore.length} of the starting sandbox (restarted from the beginning), orphaned ${orphans.length}; ` +
        `attendees lost ${attendeesLost}; restart to serving ${servingMs} ms, the restarted sandbox Ready after ${readyMs} ms`,
    );
  }, 600_000);

  it("a clean restart (SIGTERM) keeps every attendee", async () => {
    const current = launchers.at(-1)!;
    const everyone = [...attendees, starting];
    const before = new Map(everyone.map((a) => [a.id, servicesOf(a.id)]));
    await stopLauncher(current, "SIGTERM");
    const started = Date.now();
    const next = await startLauncher(stateDir, join(dir, "sandboxes"));
    for (const a of everyone) {
      expect(await phaseOf(next.base, a.cookie, a.id)).toEqual({ status: 200, phase: "Ready" });
      expect(servicesOf(a.id)).toEqual(before.get(a.id));
    }
    for (const a of attendees)
      expect(await readThroughProxy(next.base, a.cookie, a.id, a.file)).toBe(`work of ${a.id}\n`);
    expect(await used(next.base, token)).toBe(3);
    console.log(
      `SIGTERM restart: 3 of 3 attendees kept, serving again after ${Date.now() - started} ms`,
    );
  });

  it("control: a fresh state dir starts empty, and the old cookies mean nothing there", async () => {
    const fresh = await startLauncher(join(dir, "fresh-state"), join(dir, "fresh-sandboxes"));
    const freshToken = readFileSync(join(dir, "fresh-state", "organiser-token"), "utf8").trim();
    expect(freshToken).not.toBe(token);
    expect(await used(fresh.base, freshToken)).toBe(0);
    const { status } = await phaseOf(fresh.base, attendees[0]!.cookie, attendees[0]!.id);
    expect(status).toBe(404);
    await stopLauncher(fresh, "SIGTERM");
    // A second launcher on a state directory in use is refused, not let loose on its sandboxes.
    await expect(startLauncher(stateDir, join(dir, "sandboxes"))).rejects.toThrow(
      /another launcher \(pid \d+\) uses the state directory/,
    );
  });
});
