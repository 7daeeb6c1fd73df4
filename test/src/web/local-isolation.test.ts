import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createLocalBackend,
  defaultVenvDir,
  type LocalBackend,
  parseConfig,
  pidsWithEnvMarker,
  SANDBOX_ENV_MARKER,
} from "@launchbay/web";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JupyterKernel } from "./jupyter-kernel.js";

// Finding 4 of issue 9: two attendees' sandboxes on the local backend run as root (the
// Littlest-JupyterHub set-up). Everything an attendee does here happens in a real tslab
// kernel of a real JupyterLab, started by the launcher's own backend code.
const isRoot = process.getuid?.() === 0;
if (!isRoot) {
  console.warn(
    "local-isolation.test.ts: skipped — a Unix user and cgroup per sandbox needs root (CI runs as root)",
  );
}

// Ids unique per run: the sandbox users (lb-<id>) are machine-wide.
const RUN = randomBytes(3).toString("hex");
const A = `sb-iso-a${RUN}`;
const B = `sb-iso-b${RUN}`;

const ORGANISER_TOKEN = "organiser-token-isolation-test-0123456789";
const COOKIE_SECRET = "cookie-secret-isolation-test-0123456789abcdefgh";

let dir: string;
let backend: LocalBackend;
let logFd: number;
const kernels: JupyterKernel[] = [];

function waitReady(id: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const check = () => {
      const s = backend.get(id);
      if (s?.phase === "Ready") resolve();
      if (s?.phase === "Failed") reject(new Error(`${id} failed: ${s.message}`));
    };
    backend.watch(id, check);
    check();
  });
}

async function kernelIn(id: string): Promise<JupyterKernel> {
  const up = backend.upstream(id, "notebook")!;
  const kernel = await JupyterKernel.start(up.baseUrl, up.headers);
  kernels.push(kernel);
  return kernel;
}

/** Runs a cell that prints one `REPORT <json>` line; returns the JSON. */
async function report(kernel: JupyterKernel, code: string): Promise<Record<string, string>> {
  const result = await kernel.execute(code);
  expect(result.error, result.stdout).toBeUndefined();
  const line = result.stdout.split("\n").find((l) => l.startsWith("REPORT "));
  expect(line, result.stdout).toBeDefined();
  return JSON.parse(line!.slice("REPORT ".length));
}

const PROBE = `
import * as fs from "fs";
const probe = (f: () => unknown): string => {
  try { return "OK " + String(f()).slice(0, 300); }
  catch (e) { return "ERR " + ((e as NodeJS.ErrnoException).code ?? String(e)); }
};
const out: Record<string, string> = {};
`;

// Real JupyterLab and tslab kernels for two attendees on a shared 2-core machine: slow.
describe.runIf(isRoot)(
  "local backend as root: a Unix user and cgroup per sandbox",
  { timeout: 300_000 },
  () => {
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "lb-isolation-"));
      // Open to every user, like /var/lib/launchbay: so what keeps B out of A's files is
      // the sandbox's own user and 0700 home, not B's mount-namespace view.
      chmodSync(dir, 0o755);
      // The launcher's secrets, where the launcher has them: its environment (main.ts reads
      // them from there) and a log file it keeps open.
      process.env.LAUNCHBAY_ORGANISER_TOKEN = ORGANISER_TOKEN;
      process.env.LAUNCHBAY_COOKIE_SECRET = COOKIE_SECRET;
      logFd = openSync(join(dir, "launcher.log"), "w", 0o600);
      writeSync(logFd, `launchbay: organiser token ${ORGANISER_TOKEN}\n`);
      const config = parseConfig({
        local: {
          sandboxesDir: join(dir, "sandboxes"),
          venvDir: defaultVenvDir(),
          sandboxMemory: "1GiB",
          sandboxPids: 300,
        },
        workshop: { workers: 1 },
      });
      backend = createLocalBackend(config, pino({ level: "silent" }));
      await backend.start();
      expect(backend.isolation).toBe("users");
      await backend.create({ id: A, owner: "alice", expiresAt: Date.now() + 3_600_000 });
      await backend.create({ id: B, owner: "bob", expiresAt: Date.now() + 3_600_000 });
      await Promise.all([waitReady(A), waitReady(B)]);
    });

    afterAll(async () => {
      for (const k of kernels) k.close();
      await backend?.close();
      delete process.env.LAUNCHBAY_ORGANISER_TOKEN;
      delete process.env.LAUNCHBAY_COOKIE_SECRET;
      if (logFd !== undefined) closeSync(logFd);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("attendee B's kernel cannot read attendee A's tokens or files, nor the launcher's secrets", async () => {
      const a = backend.confinement(A)!;
      const b = backend.confinement(B)!;
      expect(a.user.uid).not.toBe(b.user.uid);
      expect(a.user.uid).not.toBe(0);
      const aWork = join(dir, "sandboxes", A, "work");
      const bWork = join(dir, "sandboxes", B, "work");
      expect(statSync(join(dir, "sandboxes", A)).mode & 0o777).toBe(0o700);
      expect(statSync(join(dir, "sandboxes")).mode & 0o777).toBe(0o711);

      // Attendee A at work: a kernel (its environment holds A's runtime token) and a file.
      const kernelA = await kernelIn(A);
      const wrote = await kernelA.execute(
        `import * as fs from "fs"; fs.writeFileSync("secret-a.txt", "alice's work"); console.log("saved");`,
      );
      expect(wrote.stdout).toContain("saved");
      const aRuntimeToken = backend.notebookEnvironment(A)!.env.LAUNCHBAY_TOKEN!;
      const aPids = pidsWithEnvMarker(SANDBOX_ENV_MARKER, A);
      expect(aPids.length).toBeGreaterThanOrEqual(4); // scheduler, worker, Jupyter, kernel
      // Control for the attack: the targets are real — A's processes do hold A's token.
      expect(
        aPids.some((pid) => readFileSync(`/proc/${pid}/environ`, "latin1").includes(aRuntimeToken)),
      ).toBe(true);

      const kernelB = await kernelIn(B);
      const attack = await report(
        kernelB,
        `${PROBE}
for (const pid of ${JSON.stringify(aPids)}) {
  out["environ " + pid] = probe(() => fs.readFileSync("/proc/" + pid + "/environ", "latin1"));
  out["signal " + pid] = probe(() => process.kill(pid, 0));
}
out.readAFile = probe(() => fs.readFileSync(${JSON.stringify(join(aWork, "secret-a.txt"))}, "utf8"));
out.listAWork = probe(() => fs.readdirSync(${JSON.stringify(aWork)}).join(","));
out.writeAWork = probe(() => fs.writeFileSync(${JSON.stringify(join(aWork, "pwned.txt"))}, "x"));
out.listSandboxes = probe(() => fs.readdirSync(${JSON.stringify(join(dir, "sandboxes"))}).join(","));
out.launcherEnviron = probe(() => fs.readFileSync("/proc/${process.pid}/environ", "latin1"));
out.launcherFds = probe(() => fs.readdirSync("/proc/${process.pid}/fd").join(","));
out.launcherLogFd = probe(() => fs.readFileSync("/proc/${process.pid}/fd/${logFd}", "latin1"));
out.launcherLogFile = probe(() => fs.readFileSync(${JSON.stringify(join(dir, "launcher.log"))}, "latin1"));
out.escapeCgroup = probe(() => fs.writeFileSync("/sys/fs/cgroup/pids/cgroup.procs", String(process.pid)));
out.secretsInOwnEnv = JSON.stringify(Object.entries(process.env).filter(([k, v]) =>
  /ORGANISER|COOKIE_SECRET|ACCESS_CODE/.test(k) ||
  (v ?? "").includes(${JSON.stringify(ORGANISER_TOKEN)}) || (v ?? "").includes(${JSON.stringify(COOKIE_SECRET)})));
out.ownEnviron = probe(() => fs.readFileSync("/proc/self/environ", "latin1").includes(${JSON.stringify(ORGANISER_TOKEN)}));
console.log("REPORT " + JSON.stringify(out));`,
      );
      const leaked = JSON.stringify(attack);
      expect(leaked).not.toContain(aRuntimeToken);
      expect(leaked).not.toContain(ORGANISER_TOKEN);
      expect(leaked).not.toContain(COOKIE_SECRET);
      expect(leaked).not.toContain("alice's work");
      for (const pid of aPids) {
        expect(attack[`environ ${pid}`], leaked).toBe("ERR EACCES");
        expect(attack[`signal ${pid}`], leaked).toBe("ERR EPERM");
      }
      expect(attack.readAFile).toBe("ERR EACCES");
      expect(attack.listAWork).toBe("ERR EACCES");
      expect(attack.writeAWork).toBe("ERR EACCES");
      expect(attack.listSandboxes).toBe("ERR EACCES");
      expect(attack.launcherEnviron).toBe("ERR EACCES");
      expect(attack.launcherFds).toBe("ERR EACCES");
      expect(attack.launcherLogFd).toBe("ERR EACCES");
      expect(attack.launcherLogFile).toBe("ERR EACCES");
      expect(attack.escapeCgroup).toBe("ERR EACCES");
      expect(attack.secretsInOwnEnv).toBe("[]");
      expect(attack.ownEnviron).toBe("OK false");
      expect(existsSync(join(aWork, "pwned.txt"))).toBe(false);

      // Control: B works normally in its own sandbox, with its own tokens.
      const bRuntimeToken = backend.notebookEnvironment(B)!.env.LAUNCHBAY_TOKEN!;
      const own = await report(
        kernelB,
        `${PROBE}
out.write = probe(() => fs.writeFileSync("mine.txt", "bob's work"));
out.read = probe(() => fs.readFileSync(${JSON.stringify(join(bWork, "mine.txt"))}, "utf8"));
out.list = probe(() => fs.readdirSync(".").sort().join(","));
out.token = probe(() => process.env.LAUNCHBAY_TOKEN);
out.scheduler = probe(() => process.env.LAUNCHBAY_SCHEDULER);
out.uid = probe(() => process.getuid!());
out.home = probe(() => process.env.HOME);
console.log("REPORT " + JSON.stringify(out));`,
      );
      expect(own.write).toBe("OK undefined");
      expect(own.read).toBe("OK bob's work");
      expect(own.list).toContain("mine.txt");
      expect(own.token).toBe(`OK ${bRuntimeToken}`);
      expect(own.scheduler).toMatch(/^OK ws:\/\/127\.0\.0\.1:\d+$/);
      expect(own.uid).toBe(`OK ${b.user.uid}`);
      expect(own.home).toBe(`OK ${join(dir, "sandboxes", B)}`);
      expect(readFileSync(join(bWork, "mine.txt"), "utf8")).toBe("bob's work");
      expect(statSync(join(bWork, "mine.txt")).uid).toBe(b.user.uid);
      // Files the attendee creates are private by default (umask 077).
      expect(statSync(join(bWork, "mine.txt")).mode & 0o077).toBe(0);
    });

    it("a sandbox's pids limit is enforced by its cgroup", async () => {
      const kernel = await kernelIn(B);
      const result = await report(
        kernel,
        `import { spawn, type ChildProcess } from "child_process";
const kids: ChildProcess[] = [];
let refused = "";
for (let i = 0; i < 400 && !refused; i++) {
  const child = spawn("/bin/sleep", ["60"], { stdio: "ignore" });
  refused = await new Promise<string>((res) => {
    child.once("spawn", () => res(""));
    child.once("error", (e: NodeJS.ErrnoException) => res(e.code ?? String(e)));
  });
  if (!refused) kids.push(child);
}
for (const child of kids) child.kill("SIGKILL");
console.log("REPORT " + JSON.stringify({ started: String(kids.length), refused }));`,
      );
      expect(result.refused).toBe("EAGAIN");
      // Control: processes do start below the limit (300 processes and threads in all).
      expect(Number(result.started)).toBeGreaterThan(50);
      expect(Number(result.started)).toBeLessThan(300);
    });

    it("a sandbox's memory limit is enforced by its cgroup", async () => {
      const cgroup = backend.confinement(A)!.cgroup;
      // The workshop's per-sandbox resources: 1 GiB and 300 pids here, 2 CPUs by default.
      const read = (i: number, file: string) =>
        readFileSync(join(cgroup.dirs[i]!, file), "utf8").trim();
      if (cgroup.version === 1) {
        expect(read(0, "memory.limit_in_bytes")).toBe(String(1024 ** 3));
        expect(read(1, "cpu.cfs_quota_us")).toBe("200000");
        expect(read(2, "pids.max")).toBe("300");
      } else {
        expect(read(0, "memory.max")).toBe(String(1024 ** 3));
        expect(read(0, "cpu.max")).toBe("200000 100000");
        expect(read(0, "pids.max")).toBe("300");
      }
      const kernel = await kernelIn(A);
      // Control: 128 MiB, well under the sandbox's 1 GiB, works.
      const small = await kernel.execute(
        `const small = Buffer.alloc(128 * 1024 * 1024, 1); console.log("allocated " + small.length);`,
      );
      expect(small.stdout).toContain(`allocated ${128 * 1024 * 1024}`);
      const before = await cgroup.oomKills();
      // Over the limit: the kernel OOM-kills the process in the sandbox's cgroup.
      const big = await kernel.execute(
        `const big = Buffer.alloc(1536 * 1024 * 1024, 1); console.log("allocated " + big.length);`,
      );
      expect(big.stdout).not.toContain("allocated");
      expect(big.status).toBe("died");
      expect(await cgroup.oomKills()).toBeGreaterThan(before);
      // The launcher and the other sandbox are untouched.
      expect(backend.get(A)?.phase).toBe("Ready");
      expect(backend.get(B)?.phase).toBe("Ready");
    });

    it("removes a sandbox's user, cgroup and home when it is deleted", async () => {
      const { user, cgroup } = backend.confinement(A)!;
      expect(execFileSync("id", ["-u", user.name], { encoding: "utf8" }).trim()).toBe(
        String(user.uid),
      );
      for (const d of cgroup.dirs) expect(existsSync(d)).toBe(true);
      await backend.delete(A);
      expect(() => execFileSync("id", ["-u", user.name], { stdio: "pipe" })).toThrow();
      for (const d of cgroup.dirs) expect(existsSync(d)).toBe(false);
      expect(existsSync(join(dir, "sandboxes", A))).toBe(false);
      expect(pidsWithEnvMarker(SANDBOX_ENV_MARKER, A)).toEqual([]);
    });
  },
);
