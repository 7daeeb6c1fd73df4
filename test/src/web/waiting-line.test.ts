import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildApp,
  createLocalBackend,
  type LauncherApp,
  type LauncherConfigInput,
  parseConfig,
  pidsWithEnvMarker,
  SANDBOX_ENV_MARKER,
} from "@launchbay/web";
import { StateDb } from "@launchbay/web/state-db";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { launchChromium } from "../chromium.js";
import { standInCommands } from "./stand-in-commands.js";

// Item 8 of issue 10: a full workshop puts attendees in a waiting line instead of turning
// them away. The launcher runs in this process with the local backend and real sandbox
// processes (stand-in scheduler, one stand-in worker and a stand-in notebook server per
// sandbox, so fifty sandboxes stay cheap); attendees talk to it over real HTTP and
// WebSockets. Their "lifetime" is manual: each attendee expires their sandbox once Ready.
const commands = standInCommands();

interface View {
  id: string;
  phase: string;
  waiting?: boolean;
  position?: number;
  estimatedWaitMs?: number;
  headline: string;
}

let dir: string | undefined;
const apps: LauncherApp[] = [];
const sockets: WebSocket[] = [];
const seenIds = new Set<string>();

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const app of apps.splice(0)) await app.close();
  const left = [...seenIds].flatMap((id) => pidsWithEnvMarker(SANDBOX_ENV_MARKER, id));
  seenIds.clear();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
  expect(left).toEqual([]);
});

async function startLauncher(
  settings: LauncherConfigInput,
  db?: StateDb,
  onClose: "keep" | "stop" = "stop",
): Promise<{ app: LauncherApp; base: string }> {
  dir ??= mkdtempSync(join(tmpdir(), "lb-waiting-"));
  const notebooks = join(dir, "notebooks");
  mkdirSync(notebooks, { recursive: true });
  writeFileSync(join(notebooks, "hello.txt"), "hi\n");
  const config = parseConfig({
    organiserToken: "organiser-token-waiting-line-0123",
    // Kept across the restart, as the local launcher keeps it in its state directory.
    cookieSecret: "cookie-secret-of-the-waiting-line-test-0123456789",
    logLevel: "warn",
    ...settings,
    workshop: { workers: 1, ...settings.workshop },
    local: {
      sandboxesDir: join(dir, "sandboxes"),
      archivesDir: join(dir, "archives"),
      notebooksDir: notebooks,
      onExit: "stop",
      startTimeoutSeconds: 60,
    },
  });
  const log = pino({ level: "warn" });
  const backend = createLocalBackend(
    config,
    log,
    commands,
    db ? { records: db, logsDir: join(dir, "logs"), onClose } : undefined,
  );
  const app = await buildApp({ config, backend, loggerInstance: log, waitingLineStore: db });
  apps.push(app);
  await app.listen({ host: "127.0.0.1", port: 0 });
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

/** One attendee: their cookie, sandbox id, and (while the page is open) its event socket. */
class Attendee {
  id = "";
  views: View[] = [];
  private ws: WebSocket | undefined;
  private waiters: Array<{
    done: (v: View | undefined) => boolean;
    resolve: () => void;
    reject: (err: Error) => void;
  }> = [];
  gone = false;

  private constructor(
    readonly base: string,
    readonly cookie: string,
  ) {}

  /** The same attendee (cookie, sandbox id) on another launcher. */
  static resume(base: string, from: Attendee): Attendee {
    const again = new Attendee(base, from.cookie);
    again.id = from.id;
    return again;
  }

  static async visit(base: string): Promise<Attendee> {
    const res = await fetch(`${base}/`);
    return new Attendee(base, res.headers.get("set-cookie")!.split(";")[0]!);
  }

  async launch(): Promise<View & { outcome: string }> {
    const res = await fetch(`${this.base}/api/sandboxes`, {
      method: "POST",
      headers: { cookie: this.cookie, "content-type": "application/json", origin: this.base },
      body: "{}",
    });
    expect([200, 201]).toContain(res.status);
    const body = (await res.json()) as View & { outcome: string };
    this.id = body.id;
    seenIds.add(body.id);
    return body;
  }

  /** Opens the progress page's event socket (the attendee is present while it is open). */
  open(): Promise<void> {
    this.gone = false;
    const ws = new WebSocket(`${this.base.replace("http", "ws")}/api/sandboxes/${this.id}/events`, {
      headers: { cookie: this.cookie, origin: this.base },
    });
    this.ws = ws;
    sockets.push(ws);
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString()) as { type: string; sandbox?: View };
      if (msg.sandbox) this.views.push(msg.sandbox);
      if (msg.type === "gone") this.gone = true;
      this.check();
    });
    return new Promise((resolve, reject) => {
      ws.once("message", () => resolve());
      ws.once("error", reject);
    });
  }

  /** Closes the page; resolves once the launcher has seen the socket close. */
  close(): Promise<void> {
    const ws = this.ws!;
    this.ws = undefined;
    return new Promise((resolve) => {
      ws.once("close", () => resolve());
      ws.close();
    });
  }

  get last(): View | undefined {
    return this.gone ? undefined : this.views[this.views.length - 1];
  }

  until(done: (v: View | undefined) => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ done, resolve, reject });
      this.check();
    });
  }

  private check(): void {
    this.waiters = this.waiters.filter((w) => {
      if (w.done(this.last)) w.resolve();
      else if (this.last?.phase === "Failed")
        w.reject(new Error(`${this.id} failed: ${JSON.stringify(this.last)}`));
      else return true;
      return false;
    });
  }

  async get(): Promise<{ status: number; view?: View }> {
    const res = await fetch(`${this.base}/api/sandboxes/${this.id}`, {
      headers: { cookie: this.cookie },
    });
    return { status: res.status, view: res.ok ? ((await res.json()) as View) : undefined };
  }

  async expire(): Promise<void> {
    const res = await fetch(`${this.base}/api/sandboxes/${this.id}`, {
      method: "DELETE",
      headers: { cookie: this.cookie, origin: this.base },
    });
    expect(res.status).toBe(204);
  }
}

describe("the waiting line of a full workshop", () => {
  it("launch then delete at once, 50 times: never a 500, nothing left running, every seat free again", async () => {
    const { base } = await startLauncher({ workshop: { maxSandboxes: 60 } });
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        const attendee = await Attendee.visit(base);
        const launch = fetch(`${base}/api/sandboxes`, {
          method: "POST",
          headers: { cookie: attendee.cookie, "content-type": "application/json", origin: base },
          body: "{}",
        });
        const launched = await launch;
        statuses.push(launched.status);
        const { id } = (await launched.json()) as { id: string };
        seenIds.add(id);
        // 0 ms after the launch answered: the sandbox is still being provisioned.
        const deleted = await fetch(`${base}/api/sandboxes/${id}`, {
          method: "DELETE",
          headers: { cookie: attendee.cookie, origin: base },
        });
        statuses.push(deleted.status);
      }),
    );
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses.every((s) => s < 300)).toBe(true);
    const admin = { cookie: (await Attendee.visit(base)).cookie };
    await expect
      .poll(
        async () =>
          (
            (await (await fetch(`${base}/api/workshop`, { headers: admin })).json()) as {
              capacity: { used: number };
            }
          ).capacity.used,
        { timeout: 60_000, interval: 100 },
      )
      .toBe(0);
    // No process of any of the 50 sandboxes runs (also checked again after the launcher closes).
    await expect
      .poll(() => [...seenIds].flatMap((id) => pidsWithEnvMarker(SANDBOX_ENV_MARKER, id)), {
        timeout: 60_000,
        interval: 200,
      })
      .toEqual([]);
  });

  it("drains a line of 50 attendees in order against capacity 3, each launched automatically", async () => {
    const { app, base } = await startLauncher({
      workshop: { maxSandboxes: 3 },
      maxConcurrentStarts: 3,
      waitingLine: { graceSeconds: 3600 },
    });
    // The order in which the backend was asked to create each sandbox.
    const created: string[] = [];
    app.launcher.backend.subscribe((event) => {
      if (event.type === "updated" && !created.includes(event.state.id))
        created.push(event.state.id);
    });
    const seated = [];
    for (let i = 0; i < 3; i += 1) {
      const a = await Attendee.visit(base);
      expect((await a.launch()).outcome).toBe("queued");
      await a.open();
      seated.push(a);
    }
    const line: Attendee[] = [];
    for (let i = 0; i < 50; i += 1) {
      const a = await Attendee.visit(base);
      const joined = await a.launch();
      expect(joined).toMatchObject({ outcome: "waiting", phase: "Queued", position: i + 1 });
      await a.open();
      line.push(a);
    }
    const workshop = await (
      await fetch(`${base}/api/workshop`, { headers: { cookie: line[0]!.cookie } })
    ).json();
    expect(workshop.capacity).toMatchObject({ max: 3, used: 3, left: 0, waiting: 50 });

    // Every attendee expires their sandbox once it is Ready; the seat goes to the next.
    const readyOrder: string[] = [];
    await Promise.all(
      [...seated, ...line].map(async (a) => {
        await a.until((v) => v?.phase === "Ready" || v?.phase === "Failed");
        expect(a.last?.phase).toBe("Ready");
        readyOrder.push(a.id);
        await a.expire();
      }),
    );

    const lineIds = line.map((a) => a.id);
    expect(created.filter((id) => lineIds.includes(id))).toEqual(lineIds);
    expect(readyOrder).toHaveLength(53);
    for (const a of line) {
      // Positions only ever went down, by one place at a time at most per update...
      const positions = a.views.filter((v) => v.waiting).map((v) => v.position!);
      for (let i = 1; i < positions.length; i += 1)
        expect(positions[i]!).toBeLessThanOrEqual(positions[i - 1]!);
      // ...and each showed an estimate once seats had start times.
      expect(a.views.some((v) => v.waiting && typeof v.estimatedWaitMs === "number")).toBe(true);
    }
    const after = await (
      await fetch(`${base}/api/workshop`, { headers: { cookie: line[0]!.cookie } })
    ).json();
    expect(after.capacity).toMatchObject({ used: 0, waiting: 0 });
  }, 900_000);

  it("keeps the place of an attendee who left within the grace period, also across a launcher restart", async () => {
    dir = mkdtempSync(join(tmpdir(), "lb-waiting-"));
    const db = StateDb.open(dir);
    try {
      const first = await startLauncher(
        { workshop: { maxSandboxes: 1 }, waitingLine: { graceSeconds: 3600 } },
        db,
        "keep",
      );
      const seated = await Attendee.visit(first.base);
      await seated.launch();
      await seated.open();
      const [a, b] = [await Attendee.visit(first.base), await Attendee.visit(first.base)];
      expect((await a.launch()).position).toBe(1);
      expect((await b.launch()).position).toBe(2);
      await a.open();
      await b.open();
      await seated.until((v) => v?.phase === "Ready");

      // A leaves the page; the seat that frees meanwhile is held for A, B does not overtake.
      await a.close();
      await seated.expire();
      await seated.until((v) => v === undefined);
      const held = await (
        await fetch(`${first.base}/api/workshop`, { headers: { cookie: b.cookie } })
      ).json();
      expect(held.capacity).toMatchObject({ used: 0, left: 1, waiting: 2 });
      expect(b.last).toMatchObject({ waiting: true, position: 2 });

      // A comes back within the grace period: launched at once.
      await a.open();
      await a.until((v) => v?.phase === "Ready");
      await b.until((v) => v?.position === 1);

      // The launcher stops (keeping A's sandbox) and starts again on the same state: B is
      // still first in line, and gets A's seat when A is done.
      await b.close();
      await apps.pop()!.close();
      const second = await startLauncher(
        { workshop: { maxSandboxes: 1 }, waitingLine: { graceSeconds: 3600 } },
        db,
      );
      const b2 = Attendee.resume(second.base, b);
      expect(await b2.get()).toMatchObject({
        status: 200,
        view: { id: b.id, waiting: true, position: 1 },
      });
      await b2.open();
      const a2 = Attendee.resume(second.base, a);
      await a2.open();
      expect(a2.last?.phase).toBe("Ready");
      await a2.expire();
      await b2.until((v) => v?.phase === "Ready");
    } finally {
      for (const app of apps.splice(0)) await app.close();
      db.close();
    }
  }, 120_000);

  it("drops an attendee away longer than the grace period; the others move up", async () => {
    const { base } = await startLauncher({
      workshop: { maxSandboxes: 1 },
      waitingLine: { graceSeconds: 1 },
    });
    const seated = await Attendee.visit(base);
    await seated.launch();
    const [a, b, c] = [
      await Attendee.visit(base),
      await Attendee.visit(base),
      await Attendee.visit(base),
    ];
    for (const x of [a, b, c]) {
      await x.launch();
      await x.open();
    }
    expect(c.last?.position).toBe(3);
    await b.close();
    // B's place goes once the grace period has passed: C (page open) moves up to 2.
    await c.until((v) => v?.position === 2);
    expect(a.last?.position).toBe(1); // control: present all along, kept their place
    expect((await b.get()).status).toBe(404);
    // Launching again puts B at the back of the line.
    const back = await b.launch();
    expect(back).toMatchObject({ outcome: "waiting", position: 3 });
  }, 120_000);

  it("shows the position and estimate on the launch page in real Chromium, then launches by itself", async () => {
    const { base } = await startLauncher({
      workshop: { maxSandboxes: 1 },
      waitingLine: { graceSeconds: 3600 },
    });
    const seated = await Attendee.visit(base);
    await seated.launch();
    await seated.open();
    await seated.until((v) => v?.phase === "Ready");
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${base}/`);
      await page.waitForSelector("#full:not(.hidden)");
      expect(await page.textContent("#launch")).toBe("Join the waiting line");
      await page.click("#launch");
      await page.waitForSelector("#progress:not(.hidden)");
      expect(await page.textContent("#headline")).toBe(
        "The workshop is full: you are next in line for a seat",
      );
      expect(await page.textContent("#message")).toMatch(/^Estimated wait: /);
      expect(await page.isVisible("#leave")).toBe(true);
      const id = await page.evaluate(async () => {
        const res = await fetch("/api/workshop");
        return ((await res.json()) as { mySandbox: string }).mySandbox;
      });
      seenIds.add(id);
      // The seat frees: the page goes on to the progress view and into the sandbox.
      await seated.expire();
      await page.waitForURL(`${base}/s/${id}/`, { timeout: 120_000 });
    } finally {
      await browser.close();
    }
  }, 240_000);
});
