/**
 * Work kept: an attendee's work outlives their sandbox. At Expire, expiry, failure and
 * launcher shutdown the local backend archives the work directory before deleting it; the
 * same attendee downloads it afterwards (GET /api/archive/download) and finds it in their
 * next sandbox. Real JupyterLab (the attendee's files go in through its contents API),
 * stand-in scheduler and workers, the launcher's real routes.
 */
import { until } from "./sandbox-until.js";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildApp,
  defaultRuntimeCommands,
  defaultVenvDir,
  type LauncherApp,
  LocalBackend,
  parseConfig,
  pidsWithEnvMarker,
  type RestartPolicy,
  type RuntimeCommands,
  SANDBOX_ENV_MARKER,
  WorkArchive,
} from "@launchbay/web";
import pino from "pino";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { standInCommands } from "./stand-in-commands.js";

const log = pino({ level: "silent" });
let dir: string;
let launcher: { app: LauncherApp; backend: LocalBackend } | undefined;

function commands(): RuntimeCommands {
  const real = defaultRuntimeCommands(defaultVenvDir());
  return { ...standInCommands(real.jupyter), sharedPaths: real.sharedPaths };
}

/**
 * A launcher over a local backend whose archive lives in `dir/archives` (kept across
 * restarts); with `usersIsolation`, every sandbox runs as its own Unix user (root only).
 */
async function startLauncher(restartPolicy?: RestartPolicy, usersIsolation = false) {
  const notebooks = join(dir, "notebooks");
  const client = join(dir, "client");
  mkdirSync(notebooks, { recursive: true });
  mkdirSync(client, { recursive: true });
  writeFileSync(
    join(notebooks, "01-hello.ipynb"),
    JSON.stringify({ cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 }),
  );
  writeFileSync(join(client, "index.js"), "export const hello = 1;\n");
  writeFileSync(join(client, "index.d.ts"), "export declare const hello: number;\n");
  const backend = new LocalBackend({
    sandboxesDir: join(dir, "sandboxes"),
    notebooksDir: notebooks,
    clientEntry: { js: join(client, "index.js"), dts: join(client, "index.d.ts") },
    commands: commands(),
    workers: 2,
    workerThreads: 1,
    workerMemoryLimit: "1GiB",
    startTimeoutMs: 90_000,
    log,
    expiryCheckMs: 100,
    archive: new WorkArchive({ dir: join(dir, "archives"), retentionMs: 7 * 86_400_000, log }),
    ...(restartPolicy ? { restartPolicy } : {}),
    ...(usersIsolation
      ? {
          isolation: {
            mode: "users" as const,
            limits: { memoryBytes: 2 * 1024 ** 3, cpus: 1, pids: 300 },
          },
        }
      : {}),
  });
  const config = parseConfig({
    cookieSecret: "a-cookie-secret-that-is-long-enough-0123456789",
    organiserToken: "organiser-token-for-tests-0123456789",
    logLevel: "silent",
  });
  const app = await buildApp({ config, backend, logger: false });
  launcher = { app, backend };
  return launcher;
}

beforeAll(() => {
  if (!existsSync(join(defaultVenvDir(), "bin", "jupyter-lab"))) {
    throw new Error("JupyterLab is missing: run `bash scripts/setup.sh jupyter` first");
  }
});

afterEach(async () => {
  await launcher?.app.close();
  launcher = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function newAttendee(app: LauncherApp): Promise<string> {
  const res = await app.inject({ method: "GET", url: "/" });
  const cookie = res.cookies.find((c) => c.name === "lb_attendee")!;
  return `lb_attendee=${cookie.value}`;
}

/** Launch (or try again) as the attendee; resolves with the Ready sandbox's id. */
async function launchReady(app: LauncherApp, backend: LocalBackend, cookie: string) {
  const res = await app.inject({
    method: "POST",
    url: "/api/sandboxes",
    headers: { cookie },
    payload: {},
  });
  expect([200, 201]).toContain(res.statusCode);
  const id = res.json().id as string;
  await expect.poll(() => backend.get(id), { timeout: 10_000 }).toBeDefined();
  const state = await until(backend, id, (s) => s?.phase === "Ready" || s?.phase === "Failed");
  expect(state?.phase, state?.message).toBe("Ready");
  return id;
}

/** Saves a text file through the sandbox's Jupyter contents API, as the notebook would. */
async function saveFile(backend: LocalBackend, id: string, name: string, text: string) {
  const up = backend.upstream(id, "notebook")!;
  const res = await fetch(new URL(`api/contents/${name}`, up.baseUrl), {
    method: "PUT",
    headers: { ...up.headers, "content-type": "application/json" },
    body: JSON.stringify({ type: "file", format: "text", content: text }),
  });
  expect(res.status).toBeLessThan(300);
}

/** The sandbox's files as its Jupyter server lists them (name → text). */
async function readFile(backend: LocalBackend, id: string, name: string): Promise<string | null> {
  const up = backend.upstream(id, "notebook")!;
  const res = await fetch(new URL(`api/contents/${name}?content=1`, up.baseUrl), {
    headers: up.headers,
  });
  if (res.status === 404) return null;
  return ((await res.json()) as { content: string }).content;
}

/** GET /api/archive/download as the attendee, unpacked with Python's zipfile. */
async function downloadArchive(app: LauncherApp, cookie: string) {
  const res = await app.inject({
    method: "GET",
    url: "/api/archive/download",
    headers: { cookie },
  });
  if (res.statusCode !== 200)
    return { status: res.statusCode, files: {} as Record<string, string> };
  expect(res.headers["content-type"]).toBe("application/zip");
  const path = join(dir, `dl-${Date.now()}.zip`);
  writeFileSync(path, res.rawPayload);
  const script =
    "import zipfile,sys,json\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({n:z.read(n).decode('utf8','replace') for n in z.namelist()}))";
  const files = JSON.parse(execFileSync("python3", ["-c", script, path]).toString()) as Record<
    string,
    string
  >;
  return { status: 200, files };
}

describe("work kept", () => {
  it("work survives expiry, Expire and shutdown: archived, downloadable after, restored into the next sandbox", async () => {
    dir = mkdtempSync(join(tmpdir(), "lb-archive-"));
    let { app, backend } = await startLauncher();
    const alice = await newAttendee(app);
    const mallory = await newAttendee(app);
    let lost = 0;

    // 1. The organiser's Expire.
    const first = await launchReady(app, backend, alice);
    await saveFile(backend, first, "analysis.txt", "primes below 100: 25");
    const expired = await app.inject({
      method: "DELETE",
      url: `/api/admin/sandboxes/${first}`,
      headers: { authorization: "Bearer organiser-token-for-tests-0123456789" },
    });
    expect(expired.statusCode).toBe(204);
    expect(existsSync(join(dir, "sandboxes", first))).toBe(false);
    let dl = await downloadArchive(app, alice);
    expect(dl.status).toBe(200);
    if (dl.files["analysis.txt"] !== "primes below 100: 25") lost += 1;
    expect(dl.files["01-hello.ipynb"]).toBeDefined();
    // Another attendee's cookie (and no cookie) never reaches it.
    expect((await downloadArchive(app, mallory)).status).toBe(404);
    expect((await app.inject({ method: "GET", url: "/api/archive/download" })).statusCode).toBe(
      401,
    );
    const info = await app.inject({
      method: "GET",
      url: "/api/archive",
      headers: { cookie: alice },
    });
    expect(info.statusCode).toBe(200);
    expect(info.json()).toMatchObject({ files: 2 });

    // 2. The next sandbox has the work back; then its time runs out (expiry).
    const second = await launchReady(app, backend, alice);
    expect(await readFile(backend, second, "analysis.txt")).toBe("primes below 100: 25");
    await saveFile(backend, second, "more.txt", "second sandbox");
    await backend.extend(second, Date.now() - 1);
    await until(backend, second, (s) => s === undefined);
    dl = await downloadArchive(app, alice);
    if (dl.files["analysis.txt"] !== "primes below 100: 25") lost += 1;
    if (dl.files["more.txt"] !== "second sandbox") lost += 1;

    // 3. Launcher shutdown with the sandbox running; a new launcher over the same archive.
    const third = await launchReady(app, backend, alice);
    expect(await readFile(backend, third, "more.txt")).toBe("second sandbox");
    await saveFile(backend, third, "last.txt", "before shutdown");
    await app.close();
    launcher = undefined;
    expect(pidsWithEnvMarker(SANDBOX_ENV_MARKER, third)).toEqual([]);
    ({ app, backend } = await startLauncher());
    dl = await downloadArchive(app, alice);
    expect(dl.status).toBe(200);
    for (const [name, text] of [
      ["analysis.txt", "primes below 100: 25"],
      ["more.txt", "second sandbox"],
      ["last.txt", "before shutdown"],
    ] as const)
      if (dl.files[name] !== text) lost += 1;
    const fourth = await launchReady(app, backend, alice);
    expect(await readFile(backend, fourth, "last.txt")).toBe("before shutdown");
    console.log(`work lost across Expire, expiry and shutdown: ${lost}`);
    expect(lost).toBe(0);
  }, 240_000);

  it("try again after a failure keeps the work", async () => {
    dir = mkdtempSync(join(tmpdir(), "lb-archive-"));
    // One crash is one too many here, so that a kill fails the sandbox at once.
    const { app, backend } = await startLauncher({
      maxCrashes: 1,
      windowMs: 60_000,
      initialDelayMs: 100,
      maxDelayMs: 100,
    });
    const alice = await newAttendee(app);
    const first = await launchReady(app, backend, alice);
    await saveFile(backend, first, "draft.txt", "an unfinished exercise");
    process.kill(backend.servicePid(first, "worker 1")!, "SIGKILL");
    const failed = await until(backend, first, (s) => s?.phase === "Failed");
    expect(failed!.message).toContain("Your work was saved");
    // While it is Failed, the saved work is downloadable (once it is archived; the
    // route is rate-limited per attendee, so wait on the backend rather than poll it).
    await expect
      .poll(async () => (await backend.archivedWork(failed!.owner))?.files.length, {
        timeout: 20_000,
      })
      .toBe(2);
    expect((await downloadArchive(app, alice)).files["draft.txt"]).toBe("an unfinished exercise");
    // ... and so is the failed sandbox's own "Download my work" (409 before).
    const own = await app.inject({
      method: "GET",
      url: `/api/sandboxes/${first}/download`,
      headers: { cookie: alice },
    });
    expect(own.statusCode).toBe(200);
    expect(own.headers["content-type"]).toBe("application/zip");
    // Try again: a new sandbox, with the work in it.
    const second = await launchReady(app, backend, alice);
    expect(second).not.toBe(first);
    expect(backend.get(first)).toBeUndefined();
    expect(await readFile(backend, second, "draft.txt")).toBe("an unfinished exercise");
  }, 180_000);

  it("restores saved work into a claimed warm-pool sandbox", async () => {
    dir = mkdtempSync(join(tmpdir(), "lb-archive-"));
    const { backend } = await startLauncher();
    // Work saved from an earlier sandbox of "alice".
    const earlier = join(dir, "earlier-work");
    mkdirSync(earlier);
    writeFileSync(join(earlier, "kept.txt"), "from last time");
    await new WorkArchive({
      dir: join(dir, "archives"),
      retentionMs: 7 * 86_400_000,
      log,
    }).save("alice", earlier, "sb-earlier");
    await backend.create({ id: "sb-warm1", owner: "", expiresAt: 8.64e15 });
    await until(backend, "sb-warm1", (s) => s?.phase === "Ready");
    expect(await readFile(backend, "sb-warm1", "kept.txt")).toBeNull();
    const claimed = await backend.claim({ owner: "alice", expiresAt: Date.now() + 3_600_000 });
    expect(claimed?.id).toBe("sb-warm1");
    expect(await readFile(backend, "sb-warm1", "kept.txt")).toBe("from last time");
  }, 120_000);
});

// As root every sandbox runs as its own Unix user, so its work directory belongs to that
// user, and removing the user deletes its files under /tmp (where this test's archive
// folder is). On Node 24 fs.cp kept the sandbox user as the owner of the archived copies:
// Expire left an archive with its folders but none of its files (an empty zip).
describe.runIf(process.getuid?.() === 0)("work kept, a Unix user per sandbox", () => {
  it("Expire archives the sandbox user's work as the launcher's, whole after the user is removed", async () => {
    dir = mkdtempSync(join(tmpdir(), "lb-archive-"));
    const { app, backend } = await startLauncher(undefined, true);
    expect(backend.isolation).toBe("users");
    const alice = await newAttendee(app);
    const id = await launchReady(app, backend, alice);
    await saveFile(backend, id, "analysis.txt", "saved by the sandbox user");
    const expired = await app.inject({
      method: "DELETE",
      url: `/api/admin/sandboxes/${id}`,
      headers: { authorization: "Bearer organiser-token-for-tests-0123456789" },
    });
    expect(expired.statusCode).toBe(204);
    const dl = await downloadArchive(app, alice);
    expect(dl.status).toBe(200);
    expect(dl.files["analysis.txt"]).toBe("saved by the sandbox user");
    expect(dl.files["01-hello.ipynb"]).toBeDefined();
  }, 180_000);
});
