/**
 * The worker against an in-process stand-in for the scheduler that speaks the real
 * protocol over real sockets. Task threads run the built thread script
 * (`worker/dist/task-thread.js`): build with `npx tsc -b worker` first.
 */
import { createHash } from "node:crypto";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import {
  acceptUpgrades,
  Connection,
  dial,
  encodeArgs,
  encodeFrame,
  deserializeValue,
  PeerWelcome,
  PROTOCOL_VERSION,
  receiveHello,
  type SchedulerToWorker,
  WorkerHello,
  WorkerToPeer,
  WorkerToScheduler,
} from "@launchbay/protocol";
import pino from "pino";
import WebSocket, { WebSocketServer } from "ws";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { type RunningWorker, startWorker } from "./worker.js";
import { WorkerError } from "./errors.js";

type Message = z.infer<typeof WorkerToScheduler>;

/** One registered worker as the fake scheduler sees it. */
class WorkerLink {
  readonly received: Message[] = [];
  private waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  constructor(
    readonly hello: z.infer<typeof WorkerHello>,
    readonly connection: Connection<Message, SchedulerToWorker>,
  ) {
    connection.onMessages((batch) => {
      for (const m of batch) {
        this.received.push(m);
        const i = this.waiters.findIndex((w) => w.match(m));
        if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
      }
    });
  }
  send(message: SchedulerToWorker): void {
    this.connection.send(message);
  }
  /** The next message (from now on) that matches. */
  next<T extends Message["type"]>(
    type: T,
    match: (m: Extract<Message, { type: T }>) => boolean = () => true,
  ) {
    return new Promise<Extract<Message, { type: T }>>((resolve) => {
      this.waiters.push({
        match: (m) => m.type === type && match(m as Extract<Message, { type: T }>),
        resolve: resolve as (m: Message) => void,
      });
    });
  }
  finished(key: string) {
    return this.next("task-finished", (m) => m.key === key);
  }
  failed(key: string) {
    return this.next("task-failed", (m) => m.key === key);
  }
}

async function fakeScheduler(
  options: { token?: string; heartbeatIntervalMs?: number; inlineLimit?: number } = {},
) {
  const server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true });
  const links: WorkerLink[] = [];
  const waiting: ((link: WorkerLink) => void)[] = [];
  let n = 0;
  acceptUpgrades(server, wss, { token: options.token, allowedOrigins: [] }, (ws) => {
    const connection = new Connection<unknown, SchedulerToWorker>(ws, z.unknown());
    void receiveHello(connection, WorkerHello).then((hello) => {
      if (!hello) return;
      connection.send({
        type: "welcome",
        protocol: PROTOCOL_VERSION,
        workerId: `w-${n++}`,
        schedulerId: "fake",
        heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1000,
        inlineLimit: options.inlineLimit ?? 1000,
      });
      const link = new WorkerLink(hello, connection.expect(WorkerToScheduler));
      links.push(link);
      const waiter = waiting.shift();
      if (waiter) waiter(link);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let seen = 0;
  return {
    url,
    links,
    /** The next worker to register (in order of registration). */
    nextWorker(): Promise<WorkerLink> {
      const index = seen++;
      if (links[index]) return Promise.resolve(links[index]!);
      return new Promise((resolve) => waiting.push(resolve));
    },
    async close() {
      for (const link of links) link.connection.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const silent = pino({ level: process.env.LB_DEBUG ? "debug" : "silent" });
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(
  options: {
    workers?: number;
    nthreads?: number;
    memoryLimit?: number;
    token?: string;
    heartbeatIntervalMs?: number;
  } = {},
) {
  const scheduler = await fakeScheduler(options);
  cleanups.push(() => scheduler.close());
  const workers: RunningWorker[] = [];
  const links: WorkerLink[] = [];
  for (let i = 0; i < (options.workers ?? 1); i++) {
    const [worker, link] = await Promise.all([
      startWorker({
        scheduler: scheduler.url,
        token: options.token,
        nthreads: options.nthreads ?? 1,
        memoryLimit: options.memoryLimit ?? 100_000_000,
        name: `test-${i}`,
        logger: silent,
        reconnect: { initialMs: 10, maxMs: 50 },
      }),
      scheduler.nextWorker(),
    ]);
    cleanups.push(() => worker.close());
    workers.push(worker);
    links.push(link);
  }
  return { scheduler, workers, links };
}

let counter = 0;
/** Defines `source` on the worker and returns its function id. */
function define(link: WorkerLink, source: string, name = "fn"): string {
  const id = `src:${createHash("sha256").update(source).digest("hex")}`;
  link.send({ type: "define-function", id, name, source });
  return id;
}

function compute(
  link: WorkerLink,
  fn: string,
  args: unknown[],
  deps: { key: string; nbytes: number; who: string[] }[] = [],
  keyOf: (v: object) => string | undefined = () => undefined,
): string {
  const key = `task-${counter++}`;
  link.send({
    type: "compute-task",
    key,
    fn,
    args: encodeArgs(args, keyOf).bytes,
    deps,
    priority: 0,
  });
  return key;
}

const resultOf = (m: { data?: Uint8Array | undefined }) => deserializeValue(m.data!);

async function peerDial(address: string, token?: string) {
  const { connection } = await dial<
    z.infer<typeof WorkerToPeer>,
    unknown,
    z.infer<typeof PeerWelcome>
  >(address, WorkerToPeer, {
    token,
    hello: { type: "hello", protocol: PROTOCOL_VERSION, role: "peer" },
    welcome: PeerWelcome,
  });
  cleanups.push(async () => connection.close());
  return connection;
}

async function getData(address: string, keys: string[], token?: string) {
  const connection = await peerDial(address, token);
  const reply = new Promise<z.infer<typeof WorkerToPeer>[]>((resolve) =>
    connection.onMessages(resolve),
  );
  connection.send({ type: "get-data", requestId: 7, keys });
  const [message] = await reply;
  if (message?.type !== "data") throw new Error(`expected data, got ${JSON.stringify(message)}`);
  return message;
}

describe("worker", () => {
  it("registers with its name, address, threads and memory limit", async () => {
    const { workers, links } = await setup({ nthreads: 2, memoryLimit: 12345 });
    expect(links[0]!.hello).toMatchObject({
      role: "worker",
      name: "test-0",
      address: workers[0]!.address,
      nthreads: 2,
      memoryLimit: 12345,
    });
    expect(workers[0]!.address).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
  });

  it("runs a shipped function and reports a small result inline", async () => {
    const { links } = await setup();
    const link = links[0]!;
    const add = define(link, "(a, b) => a + b", "add");
    const key = compute(link, add, [1, 2]);
    const finished = await link.finished(key);
    expect(resultOf(finished)).toBe(3);
    expect(finished.nbytes).toBe(finished.data!.byteLength);
  });

  it("awaits async functions and keeps structured values intact", async () => {
    const { links } = await setup();
    const link = links[0]!;
    const fn = define(
      link,
      "async function pairs(n) { await null; return new Map([[n, new Set([n * 2])]]); }",
    );
    const key = compute(link, fn, [4]);
    expect(resultOf(await link.finished(key))).toEqual(new Map([[4, new Set([8])]]));
  });

  it("reports a thrown error with its name, message and stack", async () => {
    const { links } = await setup();
    const link = links[0]!;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the template literal belongs to the shipped source
    const fn = define(link, "function explode(x) { throw new RangeError(`bad ${x}`); }");
    const key = compute(link, fn, ["input"]);
    const { error } = await link.failed(key);
    expect(error).toMatchObject({ name: "RangeError", message: "bad input" });
    expect(error.stack).toContain("at explode");
  });

  it("fails with function-error when the source is not a function", async () => {
    const { links } = await setup();
    const link = links[0]!;
    const key = compute(link, define(link, "42"), []);
    expect((await link.failed(key)).error).toMatchObject({
      code: "function-error",
      message: expect.stringContaining("not a function"),
    });
  });

  it("fails with a clear message when a result cannot be serialised", async () => {
    const { links } = await setup();
    const link = links[0]!;
    const key = compute(link, define(link, "() => () => 1"), []);
    expect((await link.failed(key)).error.message).toContain(`the result of ${key} cannot be sent`);
  });

  it("imports a shipped module and runs its named export", async () => {
    const { links } = await setup();
    const link = links[0]!;
    const code =
      'import { EOL } from "node:os";\nexport function shout(s) { return s.toUpperCase() + (EOL.length > 0 ? "!" : "?"); }\n';
    const hash = createHash("sha256").update(code).digest("hex");
    link.send({ type: "put-module", hash, name: "helpers", code });
    link.send({
      type: "define-function",
      id: `mod:${hash}#shout`,
      name: "shout",
      module: { hash, export: "shout" },
    });
    const key = compute(link, `mod:${hash}#shout`, ["hi"]);
    expect(resultOf(await link.finished(key))).toBe("HI!");
  });

  it("forgets a freed function in its threads: a task using it afterwards fails until it is defined again", async () => {
    const { links } = await setup({ nthreads: 2 });
    const link = links[0]!;
    const fn = define(link, "(x) => x * 3", "triple");
    expect(resultOf(await link.finished(compute(link, fn, [2])))).toBe(6);
    link.send({ type: "free-code", functions: [fn], modules: [] });
    const { error } = await link.failed(compute(link, fn, [2]));
    expect(error).toMatchObject({
      code: "function-error",
      message: expect.stringContaining("never defined"),
    });
    define(link, "(x) => x * 3", "triple");
    expect(resultOf(await link.finished(compute(link, fn, [5])))).toBe(15);
  });

  it("unloads a freed module: the thread that imported it is replaced, so it is imported afresh", async () => {
    const { links } = await setup({ nthreads: 1 });
    const link = links[0]!;
    const code = "let calls = 0;\nexport function count() { return ++calls; }\n";
    const hash = createHash("sha256").update(code).digest("hex");
    const ship = () => {
      link.send({ type: "put-module", hash, name: "counter", code });
      link.send({
        type: "define-function",
        id: `mod:${hash}#count`,
        name: "count",
        module: { hash, export: "count" },
      });
    };
    ship();
    expect(resultOf(await link.finished(compute(link, `mod:${hash}#count`, [])))).toBe(1);
    expect(resultOf(await link.finished(compute(link, `mod:${hash}#count`, [])))).toBe(2);
    link.send({ type: "free-code", functions: [`mod:${hash}#count`], modules: [hash] });
    ship();
    // A fresh thread imports a fresh copy of the module: its state starts over.
    expect(resultOf(await link.finished(compute(link, `mod:${hash}#count`, [])))).toBe(1);
  });

  it("fetches a dependency from a peer's data port and holds the result for peers", async () => {
    const { workers, links } = await setup({ workers: 2 });
    const [l0, l1] = links as [WorkerLink, WorkerLink];
    const big = define(l0, "(n) => new Uint8Array(n).fill(7)");
    const a = compute(l0, big, [200_000]);
    const done = await l0.finished(a);
    expect(done.data).toBeUndefined(); // larger than the inline limit
    const sum = define(l1, "(bytes, extra) => bytes.reduce((s, b) => s + b, 0) + extra.plus");
    const marker = { a };
    const b = compute(
      l1,
      sum,
      [marker, { plus: 1 }],
      [{ key: a, nbytes: done.nbytes, who: [workers[0]!.address] }],
      (v) => (v === marker ? a : undefined),
    );
    expect(resultOf(await l1.finished(b))).toBe(1_400_001);
    const served = await getData(workers[1]!.address, [b, a, "nope"]);
    expect(served.items.map((i) => i.key)).toEqual([b]); // the fetched copy was dropped
    expect(served.missing).toEqual([a, "nope"]);
  });

  it("reports missing-data when no named holder has a dependency", async () => {
    const { workers, links } = await setup({ workers: 2 });
    const fn = define(links[1]!, "(x) => x");
    const marker = {};
    const key = compute(
      links[1]!,
      fn,
      [marker],
      [{ key: "gone", nbytes: 1, who: [workers[0]!.address, "ws://127.0.0.1:1"] }],
      (v) => (v === marker ? "gone" : undefined),
    );
    const missing = await links[1]!.next("missing-data", (m) => m.key === key);
    expect(missing).toEqual({
      type: "missing-data",
      key,
      dependency: "gone",
      from: [workers[0]!.address, "ws://127.0.0.1:1"],
    });
  });

  it("stores scattered data, reports it and serves it to peers", async () => {
    const { workers, links } = await setup();
    const data = encodeArgs([{ hello: "world" }], () => undefined).bytes;
    links[0]!.send({ type: "put-data", items: [{ key: "scatter-1", data }] });
    expect(await links[0]!.next("keys-stored")).toEqual({
      type: "keys-stored",
      keys: [{ key: "scatter-1", nbytes: data.byteLength }],
    });
    const served = await getData(workers[0]!.address, ["scatter-1"]);
    expect(Buffer.from(served.items[0]!.data)).toEqual(Buffer.from(data));
  });

  it("frees results on free-keys", async () => {
    const { workers, links } = await setup();
    const key = compute(links[0]!, define(links[0]!, "() => 'x'.repeat(5000)"), []);
    await links[0]!.finished(key);
    expect((await getData(workers[0]!.address, [key])).items).toHaveLength(1);
    links[0]!.send({ type: "free-keys", keys: [key] });
    const heartbeat = await links[0]!.next("heartbeat", (m) => m.bytesHeld === 0);
    expect(heartbeat.bytesHeld).toBe(0);
    expect((await getData(workers[0]!.address, [key])).missing).toEqual([key]);
  }, 10_000);

  it("terminates the thread of a running task that is freed and keeps working", async () => {
    const { links } = await setup({ nthreads: 1, heartbeatIntervalMs: 20 });
    const link = links[0]!;
    const spin = compute(link, define(link, "() => { for (;;) {} }"), []);
    await link.next("heartbeat", (m) => m.executing === 1);
    link.send({ type: "free-keys", keys: [spin] });
    const quick = compute(link, define(link, "() => 'fresh thread'"), []);
    expect(resultOf(await link.finished(quick))).toBe("fresh thread");
    expect(link.received.some((m) => m.type !== "heartbeat" && "key" in m && m.key === spin)).toBe(
      false,
    );
  });

  it("sends heartbeats from the main thread while a task keeps its thread busy", async () => {
    const { links } = await setup({ nthreads: 1, heartbeatIntervalMs: 20 });
    const link = links[0]!;
    const busy = compute(
      link,
      define(
        link,
        "(ms) => { const end = Date.now() + ms; while (Date.now() < end) {} return 'done'; }",
      ),
      [400],
    );
    const beats: number[] = [];
    const two = (async () => {
      for (let i = 0; i < 3; i++)
        beats.push((await link.next("heartbeat", (m) => m.executing === 1)).executing);
    })();
    await Promise.all([two, link.finished(busy)]);
    expect(beats).toEqual([1, 1, 1]);
  });

  it("fails a task that ends its thread and replaces the thread", async () => {
    const { links } = await setup({ nthreads: 1 });
    const link = links[0]!;
    const exit = compute(link, define(link, "() => process.exit(3)"), []);
    const after = compute(link, define(link, "() => 'still here'"), []);
    const { error } = await link.failed(exit);
    expect(error.message).toContain(`task ${exit} ended its worker thread (exit code 3)`);
    expect(resultOf(await link.finished(after))).toBe("still here");
  });

  it("fails with memory-limit when a result would exceed the limit", async () => {
    const { links } = await setup({ memoryLimit: 10_000 });
    const link = links[0]!;
    const key = compute(link, define(link, "(n) => new Uint8Array(n)"), [20_000]);
    const { error } = await link.failed(key);
    expect(error.code).toBe("memory-limit");
    expect(error.message).toMatch(
      /^result of task-\d+ is 19\.5 KiB but worker test-0 holds 0 B of its 9\.77 KiB limit: /,
    );
  });

  it("drops everything and registers again when the scheduler connection is lost", async () => {
    const { scheduler, workers, links } = await setup();
    const key = compute(links[0]!, define(links[0]!, "() => 1"), []);
    await links[0]!.finished(key);
    links[0]!.connection.terminate();
    const again = await scheduler.nextWorker();
    expect(again.hello.name).toBe("test-0");
    expect((await getData(workers[0]!.address, [key])).missing).toEqual([key]);
    const next = compute(again, define(again, "() => 2"), []);
    expect(resultOf(await again.finished(next))).toBe(2);
  });

  it("computes a task again after losing the scheduler in the middle of fetching its dependency", async () => {
    const { scheduler, workers, links } = await setup({ workers: 2 });
    const [l0, l1] = links as [WorkerLink, WorkerLink];
    const a = compute(l0, define(l0, "(n) => new Uint8Array(n).fill(1)"), [50_000_000]);
    const done = await l0.finished(a);
    const marker = {};
    const dep = [{ key: a, nbytes: done.nbytes, who: [workers[0]!.address] }];
    const keyOf = (v: object) => (v === marker ? a : undefined);
    const length = define(l1, "(bytes) => bytes.length");
    const first = compute(l1, length, [marker], dep, keyOf);
    l1.connection.terminate(); // while the 50 MB are on their way
    const again = await scheduler.nextWorker();
    expect(again.hello.name).toBe("test-1");
    again.send({
      type: "define-function",
      id: length,
      name: "length",
      source: "(bytes) => bytes.length",
    });
    again.send({
      type: "compute-task",
      key: first,
      fn: length,
      args: encodeArgs([marker], keyOf).bytes,
      deps: dep,
      priority: 0,
    });
    expect(resultOf(await again.finished(first))).toBe(50_000_000);
  });

  it("refuses data-port connections without the token (HTTP 401)", async () => {
    const { workers } = await setup({ token: "s3cret" });
    const port = Number(new URL(workers[0]!.address).port);
    const status = await new Promise<number>((resolve, reject) => {
      request(
        { host: "127.0.0.1", port, path: "/", headers: { authorization: "Bearer wrong" } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
        .on("error", reject)
        .end();
    });
    expect(status).toBe(401);
    await expect(peerDial(workers[0]!.address, "wrong")).rejects.toMatchObject({
      reason: "unauthorized",
    });
    await expect(getData(workers[0]!.address, [], "s3cret")).resolves.toMatchObject({
      missing: [],
    });
  });

  it("answers a malformed frame on the data port with an error and closes", async () => {
    const { workers } = await setup();
    const ws = new WebSocket(workers[0]!.address);
    cleanups.push(async () => ws.terminate());
    await new Promise((resolve) => ws.once("open", resolve));
    const reply = new Promise<Buffer>((resolve) =>
      ws.once("message", (data) => resolve(data as Buffer)),
    );
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    ws.send(Buffer.from([1, 2, 3, 4, 5, 6, 7]));
    const { decodeFrame } = await import("@launchbay/protocol");
    const decoded = decodeFrame(await reply);
    expect(decoded).toMatchObject({ ok: true, messages: [{ type: "error", code: "bad-frame" }] });
    expect(await closed).toBe(1008);
    // A well-formed frame with a message that is not a peer hello is refused too.
    const ws2 = new WebSocket(workers[0]!.address);
    cleanups.push(async () => ws2.terminate());
    await new Promise((resolve) => ws2.once("open", resolve));
    const reply2 = new Promise<Buffer>((resolve) =>
      ws2.once("message", (data) => resolve(data as Buffer)),
    );
    for (const chunk of encodeFrame([
      { type: "hello", protocol: PROTOCOL_VERSION, role: "worker" },
    ]))
      ws2.send(chunk);
    expect(decodeFrame(await reply2)).toMatchObject({
      ok: true,
      messages: [{ type: "error", code: "bad-message" }],
    });
  });

  it("stops with unauthorized when the scheduler refuses its token at the first connection", async () => {
    const scheduler = await fakeScheduler({ token: "right" });
    cleanups.push(() => scheduler.close());
    const attempt = startWorker({
      scheduler: scheduler.url,
      token: "wrong",
      nthreads: 1,
      logger: silent,
    });
    await expect(attempt).rejects.toMatchObject({
      code: "unauthorized",
      message: expect.stringContaining("HTTP 401"),
    });
  });

  it("refuses to listen beyond loopback without a token", async () => {
    const attempt = startWorker({
      scheduler: "ws://127.0.0.1:1",
      host: "0.0.0.0",
      nthreads: 1,
      logger: silent,
    });
    await expect(attempt).rejects.toBeInstanceOf(WorkerError);
    await expect(attempt).rejects.toMatchObject({
      code: "unsafe-bind",
      message: expect.stringContaining("--token"),
    });
  });

  it("rejects invalid options naming the field", async () => {
    await expect(startWorker({ scheduler: "http://x", logger: silent })).rejects.toMatchObject({
      code: "bad-options",
      message: expect.stringContaining("scheduler"),
    });
  });

  it("stops retrying when its signal aborts before the scheduler is reachable", async () => {
    const controller = new AbortController();
    const attempt = startWorker({
      scheduler: "ws://127.0.0.1:1",
      nthreads: 1,
      logger: silent,
      signal: controller.signal,
      reconnect: { initialMs: 5, maxMs: 10 },
    });
    controller.abort();
    await expect(attempt).rejects.toMatchObject({ code: "closed" });
  });
});
