/**
 * The scheduler server over real sockets: a tiny in-test worker and client speak the
 * real protocol through `dial()`.
 */
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  ClientWelcome,
  type Connection,
  ConnectError,
  dial,
  encodeArgs,
  PROTOCOL_VERSION,
  type SchedulerToClient,
  SchedulerToClient as SchedulerToClientSchema,
  type SchedulerToWorker,
  SchedulerToWorker as SchedulerToWorkerSchema,
  serializeValue,
  WorkerWelcome,
} from "@launchbay/protocol";
import { type RunningScheduler, startScheduler } from "./start-scheduler.js";

const TOKEN = "test-token-123";
const FN = "src:00000000000000000000000000000000000000000000000000000000000000aa";
const running: RunningScheduler[] = [];
const connections: Connection<unknown, unknown>[] = [];

afterEach(async () => {
  for (const c of connections.splice(0)) c.terminate();
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function scheduler(options: Parameters<typeof startScheduler>[0] = {}) {
  const s = await startScheduler({ port: 0, token: TOKEN, ...options });
  running.push(s);
  return s;
}

/** Collects messages and lets a test await the first one matching a predicate. */
class Inbox<M extends { type: string }> {
  private messages: M[] = [];
  private waiters: { match: (m: M) => boolean; resolve: (m: M) => void }[] = [];
  push(batch: M[]): void {
    for (const m of batch) {
      this.messages.push(m);
      for (const w of this.waiters.splice(0)) {
        if (w.match(m)) w.resolve(m);
        else this.waiters.push(w);
      }
    }
  }
  next<T extends M["type"]>(type: T, match: (m: Extract<M, { type: T }>) => boolean = () => true) {
    const test = (m: M) => m.type === type && match(m as Extract<M, { type: T }>);
    const found = this.messages.find(test);
    if (found) {
      this.messages.splice(this.messages.indexOf(found), 1);
      return Promise.resolve(found as Extract<M, { type: T }>);
    }
    return new Promise<Extract<M, { type: T }>>((resolve) =>
      this.waiters.push({
        match: test,
        resolve: (m) => {
          this.messages.splice(this.messages.indexOf(m), 1);
          resolve(m as Extract<M, { type: T }>);
        },
      }),
    );
  }
}

async function fakeWorker(address: string, name: string, o: { heartbeat?: boolean } = {}) {
  const { connection, welcome } = await dial<SchedulerToWorker, unknown, WorkerWelcome>(
    address,
    SchedulerToWorkerSchema,
    {
      token: TOKEN,
      welcome: WorkerWelcome,
      hello: {
        type: "hello",
        protocol: PROTOCOL_VERSION,
        role: "worker",
        name,
        address: `ws://127.0.0.1:1${name.length}`,
        nthreads: 1,
        memoryLimit: 1e9,
        resources: {},
      },
    },
  );
  connections.push(connection as Connection<unknown, unknown>);
  const inbox = new Inbox<SchedulerToWorker>();
  connection.onMessages((batch) => inbox.push(batch));
  let timer: NodeJS.Timeout | undefined;
  if (o.heartbeat !== false) {
    timer = setInterval(
      () => connection.send({ type: "heartbeat", bytesHeld: 0, executing: 0, rss: 1 }),
      welcome.heartbeatIntervalMs,
    );
    void connection.closed.then(() => clearInterval(timer));
  }
  return { connection, welcome, inbox, stop: () => clearInterval(timer) };
}

async function fakeClient(address: string) {
  const { connection, welcome } = await dial<SchedulerToClient, unknown, ClientWelcome>(
    address,
    SchedulerToClientSchema,
    {
      token: TOKEN,
      welcome: ClientWelcome,
      hello: { type: "hello", protocol: PROTOCOL_VERSION, role: "client", name: "test" },
    },
  );
  connections.push(connection as Connection<unknown, unknown>);
  const inbox = new Inbox<SchedulerToClient>();
  connection.onMessages((batch) => inbox.push(batch));
  const submit = (key: string, deps: string[] = []) =>
    connection.send({
      type: "submit-task",
      key,
      fn: FN,
      args: encodeArgs([1], () => undefined).bytes,
      deps,
      priority: 0,
      retries: 0,
      allowOtherWorkers: false,
    });
  connection.send({ type: "define-function", id: FN, name: "inc", source: "(x) => x + 1" });
  return { connection, welcome, inbox, submit };
}

describe("scheduler server", () => {
  it("runs a task end to end: client submits, worker computes, client gets the inline result", async () => {
    const s = await scheduler();
    const w = await fakeWorker(s.address, "w1");
    expect(w.welcome).toMatchObject({
      schedulerId: s.schedulerId,
      heartbeatIntervalMs: 1000,
      inlineLimit: 65536,
    });
    const c = await fakeClient(s.address);
    c.submit("inc-1");
    await w.inbox.next("define-function");
    const task = await w.inbox.next("compute-task");
    expect(task.key).toBe("inc-1");
    const data = serializeValue(2);
    w.connection.send({
      type: "task-finished",
      key: "inc-1",
      nbytes: data.byteLength,
      durationMs: 0.1,
      data,
    });
    const done = await c.inbox.next("key-in-memory");
    expect(Buffer.from(done.data!)).toEqual(Buffer.from(data));
    c.connection.send({ type: "who-has", requestId: 1, keys: ["inc-1"] });
    expect((await c.inbox.next("who-has-reply")).who).toEqual({ "inc-1": ["ws://127.0.0.1:12"] });
    c.connection.send({ type: "release-keys", keys: ["inc-1"] });
    expect((await w.inbox.next("free-keys")).keys).toEqual(["inc-1"]);
  });

  it("refuses a wrong token with HTTP 401 before any message", async () => {
    const s = await scheduler();
    const error = await dial(s.address, SchedulerToClientSchema, {
      token: "wrong-token",
      welcome: ClientWelcome,
      hello: { type: "hello", protocol: PROTOCOL_VERSION, role: "client" },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).reason).toBe("unauthorized");
  });

  it("answers a malformed frame with an error message and closes with 1008", async () => {
    const s = await scheduler();
    const c = await fakeClient(s.address);
    c.connection.ws.send(Buffer.from([9, 9, 9, 9, 9, 9]), { binary: true });
    const error = await c.inbox.next("error");
    expect(error.code).toBe("bad-frame");
    expect((await c.connection.closed).code).toBe(1008);
  });

  it("refuses a peer hello: the scheduler serves no data", async () => {
    const s = await scheduler();
    const error = await dial(s.address, SchedulerToClientSchema, {
      token: TOKEN,
      welcome: ClientWelcome,
      hello: { type: "hello", protocol: PROTOCOL_VERSION, role: "peer" },
    }).catch((e: unknown) => e);
    expect(String(error)).toContain("does not serve data");
  });

  it("drops a worker that stops heartbeating and reschedules its task elsewhere", async () => {
    const s = await scheduler({ heartbeatIntervalMs: 20 });
    const silent = await fakeWorker(s.address, "silent", { heartbeat: false });
    const c = await fakeClient(s.address);
    c.submit("t-1");
    await silent.inbox.next("compute-task");
    const healthy = await fakeWorker(s.address, "healthy");
    const task = await healthy.inbox.next("compute-task");
    expect(task.key).toBe("t-1");
    expect((await silent.connection.closed).code).not.toBe(1000);
  });

  it("replaces a worker that reconnects under the same name", async () => {
    const s = await scheduler();
    const first = await fakeWorker(s.address, "same");
    await fakeWorker(s.address, "same");
    await first.connection.closed;
    expect(s.state.workers.size).toBe(1);
  });

  it("closes every connection with 1001 on shutdown", async () => {
    const s = await scheduler();
    const c = await fakeClient(s.address);
    const w = await fakeWorker(s.address, "w1");
    await s.close();
    expect((await c.connection.closed).code).toBe(1001);
    expect((await w.connection.closed).code).toBe(1001);
  });

  it("refuses to listen beyond loopback without a token", async () => {
    await expect(startScheduler({ host: "0.0.0.0", port: 0 })).rejects.toMatchObject({
      code: "unsafe-bind",
    });
  });

  it("refuses browser origins without a token, and validates configured origins", async () => {
    await expect(
      startScheduler({ port: 0, allowedOrigins: ["https://sandbox.example"] }),
    ).rejects.toMatchObject({ code: "unsafe-origin", message: expect.stringContaining("--token") });
    await expect(
      startScheduler({ port: 0, token: TOKEN, allowedOrigins: ["https://sandbox.example/x"] }),
    ).rejects.toMatchObject({
      code: "bad-flag",
      message: expect.stringContaining("expected an origin"),
    });
  });

  it("reports a port in use with what to do", async () => {
    const s = await scheduler();
    await expect(startScheduler({ port: s.port, token: TOKEN })).rejects.toMatchObject({
      code: "listen-failed",
      message: expect.stringContaining("--port 0"),
    });
  });
});

describe("scheduler HTTP", () => {
  const auth = { authorization: `Bearer ${TOKEN}` };

  it("serves /healthz without a token and everything else only with it", async () => {
    const s = await scheduler();
    expect(await (await fetch(`${s.httpUrl}/healthz`)).text()).toBe("ok\n");
    for (const path of ["/api/status", "/metrics", "/dashboard/", "/dashboard/data.json"]) {
      expect((await fetch(`${s.httpUrl}${path}`)).status, path).toBe(401);
      expect((await fetch(`${s.httpUrl}${path}`, { headers: auth })).status, path).toBe(200);
    }
    expect((await fetch(`${s.httpUrl}/nope`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${s.httpUrl}/api/status`, { method: "POST", headers: auth })).status).toBe(
      405,
    );
  });

  it("reports status and Prometheus metrics", async () => {
    const s = await scheduler();
    const w = await fakeWorker(s.address, "w1");
    const c = await fakeClient(s.address);
    c.submit("m-1");
    await w.inbox.next("compute-task");
    w.connection.send({ type: "task-finished", key: "m-1", nbytes: 40, durationMs: 1 });
    await c.inbox.next("key-in-memory");
    const status = await (await fetch(`${s.httpUrl}/api/status`, { headers: auth })).json();
    expect(status).toMatchObject({
      schedulerId: s.schedulerId,
      clients: 1,
      tasks: { memory: 1 },
      workers: [{ name: "w1", bytesHeld: 40 }],
    });
    const metrics = await (await fetch(`${s.httpUrl}/metrics`, { headers: auth })).text();
    expect(metrics).toContain('launchbay_scheduler_tasks{state="memory"} 1');
    expect(metrics).toContain("launchbay_scheduler_workers 1");
    expect(metrics).toContain('launchbay_scheduler_bytes_held{worker="w1"} 40');
    expect(metrics).toContain("launchbay_scheduler_tasks_completed_total 1");
    expect(metrics).toMatch(/launchbay_scheduler_messages_received_total [1-9]/);
    expect(metrics).toMatch(/launchbay_scheduler_frames_sent_total [1-9]/);
  });

  it("turns ?token= into an HttpOnly cookie and serves a dashboard with relative URLs only", async () => {
    const s = await scheduler();
    const login = await fetch(`${s.httpUrl}/dashboard/?token=${TOKEN}`, { redirect: "manual" });
    expect(login.status).toBe(303);
    expect(login.headers.get("location")).toBe("./");
    const cookie = login.headers.get("set-cookie")!;
    expect(cookie).toContain("HttpOnly");
    const page = await fetch(`${s.httpUrl}/dashboard/`, {
      headers: { cookie: cookie.split(";")[0]! },
    });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('EventSource("events")');
    expect(html).not.toMatch(/(src|href|fetch\(|EventSource\()\s*=?\s*["']\//);
    const data = await (
      await fetch(`${s.httpUrl}/dashboard/data.json`, {
        headers: { cookie: cookie.split(";")[0]! },
      })
    ).json();
    expect(data).toMatchObject({ schedulerId: s.schedulerId, tasks: {}, progress: {}, stream: [] });
  });

  it("streams dashboard updates as server-sent events", async () => {
    const s = await scheduler();
    const controller = new AbortController();
    const res = await fetch(`${s.httpUrl}/dashboard/events`, {
      headers: auth,
      signal: controller.signal,
    });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("\n\n")) text += new TextDecoder().decode((await reader.read()).value);
    expect(JSON.parse(text.split("data: ")[1]!.split("\n")[0]!)).toMatchObject({
      schedulerId: s.schedulerId,
    });
    controller.abort();
  });
});

describe("WebSocket handshake", () => {
  it("refuses a text frame as the hello", async () => {
    const s = await scheduler();
    const ws = new WebSocket(s.address, { headers: { authorization: `Bearer ${TOKEN}` } });
    await new Promise((resolve) => ws.once("open", resolve));
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    ws.send("hello");
    expect(await closed).toBe(1008);
  });
});
