import { request } from "node:http";
import { createServer } from "node:net";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { BULK_UPGRADE, bulkFetch } from "@launchbay/protocol";
import { type DataServer, startDataServer } from "./data-server.js";

const silent = pino({ level: "silent" });
const servers: DataServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function dataPort(held: Record<string, Uint8Array>, token = "s3cret-token") {
  const server = await startDataServer({
    host: "127.0.0.1",
    port: 0,
    token,
    logger: silent,
    source: {
      getData: (keys) => ({
        items: keys.filter((k) => held[k]).map((key) => ({ key, data: held[key]! })),
        missing: keys.filter((k) => !held[k]),
      }),
    },
  });
  servers.push(server);
  return `ws://127.0.0.1:${server.port}`;
}

const options = { token: "s3cret-token", idleTimeoutMs: 5000 };

describe("bulk transfer", () => {
  it("delivers a large value byte for byte in a buffer of its own", async () => {
    const value = new Uint8Array(3 * 1024 * 1024 + 7);
    for (let i = 0; i < value.length; i++) value[i] = (i * 31) & 0xff;
    const address = await dataPort({ big: value });
    const result = await bulkFetch(address, "big", options);
    if (result.status !== "held") throw new Error(`not held: ${JSON.stringify(result)}`);
    expect(Buffer.from(result.data).equals(Buffer.from(value))).toBe(true);
    // it owns its whole ArrayBuffer, so it can move to a task thread without a copy
    expect(result.data.byteOffset).toBe(0);
    expect(result.data.buffer.byteLength).toBe(value.byteLength);
  });

  it("delivers empty and small values too", async () => {
    const address = await dataPort({ empty: new Uint8Array(0), small: Uint8Array.of(1, 2, 3) });
    expect(await bulkFetch(address, "empty", options)).toEqual({
      status: "held",
      data: expect.objectContaining({ byteLength: 0 }),
    });
    const small = await bulkFetch(address, "small", options);
    expect(small.status === "held" && [...small.data]).toEqual([1, 2, 3]);
  });

  it("says missing for a key the peer does not hold", async () => {
    const address = await dataPort({});
    expect(await bulkFetch(address, "nope", options)).toEqual({ status: "missing" });
  });

  it("fails with the reason when the peer refuses the token", async () => {
    const address = await dataPort({ k: new Uint8Array(10) });
    const result = await bulkFetch(address, "k", { ...options, token: "wrong-token" });
    expect(result).toEqual({ status: "failed", reason: expect.stringContaining("401") });
  });

  it("fails with the reason when the peer cannot be reached", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await bulkFetch(`ws://127.0.0.1:${port}`, "k", options);
    expect(result).toEqual({ status: "failed", reason: expect.stringContaining("ECONNREFUSED") });
  });

  it("fails when the peer closes before sending every byte it announced", async () => {
    const liar = createServer((socket) => {
      socket.once("data", () => {
        const head = Buffer.from(
          `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${BULK_UPGRADE}\r\n\r\n`,
        );
        const length = Buffer.alloc(9);
        length[0] = 1;
        length.writeBigUInt64LE(1000n, 1);
        socket.end(Buffer.concat([head, length, Buffer.alloc(10)]));
      });
    });
    await new Promise<void>((resolve) => liar.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = liar.address() as { port: number };
      const result = await bulkFetch(`ws://127.0.0.1:${port}`, "k", options);
      expect(result).toEqual({
        status: "failed",
        reason: expect.stringContaining("after 10 of 1000 bytes"),
      });
    } finally {
      await new Promise<void>((resolve) => liar.close(() => resolve()));
    }
  });

  it("gives up at once when aborted, and before connecting when already aborted", async () => {
    const silentPeer = createServer(() => {}); // accepts, never answers
    await new Promise<void>((resolve) => silentPeer.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = silentPeer.address() as { port: number };
      const controller = new AbortController();
      const pending = bulkFetch(`ws://127.0.0.1:${port}`, "k", {
        ...options,
        signal: controller.signal,
      });
      controller.abort();
      expect(await pending).toEqual({ status: "failed", reason: "the fetch was aborted" });
      const before = await bulkFetch(`ws://127.0.0.1:${port}`, "k", {
        ...options,
        signal: AbortSignal.abort(),
      });
      expect(before).toEqual({ status: "failed", reason: "the fetch was aborted" });
    } finally {
      await new Promise<void>((resolve) => silentPeer.close(() => resolve()));
    }
  });

  it("answers a bulk request without a valid key with HTTP 400", async () => {
    const address = await dataPort({});
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({
        host: "127.0.0.1",
        port: Number(new URL(address).port),
        path: "/bulk",
        headers: {
          authorization: "Bearer s3cret-token",
          connection: "Upgrade",
          upgrade: BULK_UPGRADE,
        },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("upgrade", () => reject(new Error("upgraded without a key")));
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(400);
  });
});
