/**
 * The runtime's security edges against real processes: tokens on every endpoint, and
 * malformed frames or messages answered with an error and a closed connection.
 */
import { decodeFrame, encodeFrame, PROTOCOL_VERSION } from "@launchbay/protocol";
import { type Client, LaunchbayError } from "launchbay";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RuntimeCluster } from "./cluster.js";

let cluster: RuntimeCluster;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  cluster = await RuntimeCluster.start({ workers: 1 });
});

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await cluster?.close();
});

/** Opens a WebSocket and resolves with the HTTP status it was refused with (or 101). */
function upgradeStatus(
  url: string,
  token: string | undefined,
  extra: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...extra };
    if (token) headers.authorization = `Bearer ${token}`;
    const ws = new WebSocket(url, { headers });
    sockets.push(ws);
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.on("error", () => {});
      ws.terminate();
    });
    ws.on("open", () => {
      resolve(101);
      ws.close();
    });
    ws.on("error", reject);
  });
}

/** A raw authenticated socket: sends `payload` and resolves with the first reply frame and the close code. */
async function rawExchange(url: string, payload: Buffer[] | string) {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${cluster.token}` } });
  sockets.push(ws);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const reply = new Promise<Buffer>((resolve) =>
    ws.once("message", (data) => resolve(data as Buffer)),
  );
  const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  if (typeof payload === "string") ws.send(payload);
  else {
    for (let i = 0; i < payload.length; i++) {
      ws.send(payload[i]!, { binary: true, fin: i === payload.length - 1 });
    }
  }
  const decoded = decodeFrame(await reply);
  return { decoded, closeCode: await closed };
}

describe("security", () => {
  it("refuses HTTP requests to the scheduler without the right token (401)", async () => {
    const wrong = await fetch(`${cluster.httpUrl}/api/status`, {
      headers: { authorization: "Bearer wrong" },
    });
    expect(wrong.status).toBe(401);
    expect((await fetch(`${cluster.httpUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${cluster.httpUrl}/healthz`)).status).toBe(200);
    expect((await cluster.status()).workers).toHaveLength(1);
  });

  it("refuses WebSocket upgrades without the right token on the scheduler and on a worker's data port", async () => {
    expect(await upgradeStatus(cluster.address, "wrong")).toBe(401);
    expect(await upgradeStatus(cluster.address, undefined)).toBe(401);
    expect(await upgradeStatus(cluster.workers[0]!.address, "wrong")).toBe(401);
    expect(await upgradeStatus(cluster.workers[0]!.address, undefined)).toBe(401);
    expect(await upgradeStatus(cluster.workers[0]!.address, cluster.token)).toBe(101);
  });

  it("refuses a WebSocket from a browser origin on a worker's data port even with the token", async () => {
    const origin = { origin: "https://evil.example" };
    expect(await upgradeStatus(cluster.workers[0]!.address, cluster.token, origin)).toBe(403);
    expect(await upgradeStatus(cluster.address, cluster.token, origin)).toBe(403);
    // Control: the same request without a browser Origin opens.
    expect(await upgradeStatus(cluster.workers[0]!.address, cluster.token)).toBe(101);
  });

  it("fails Client.connect with a clear error for a wrong token", async () => {
    const { Client } = await import("launchbay");
    const attempt: Promise<Client> = Client.connect(cluster.address, { token: "wrong" });
    await expect(attempt).rejects.toBeInstanceOf(LaunchbayError);
    await expect(attempt).rejects.toThrow(/401/);
  });

  it.each([
    ["the scheduler", () => cluster.address],
    ["a worker's data port", () => cluster.workers[0]!.address],
  ])("answers raw garbage bytes on %s with bad-frame and closes (1008)", async (_what, url) => {
    const { decoded, closeCode } = await rawExchange(url(), [
      Buffer.from([9, 9, 9, 9, 9, 9, 9, 9]),
    ]);
    expect(decoded).toMatchObject({ ok: true, messages: [{ type: "error", code: "bad-frame" }] });
    expect(closeCode).toBe(1008);
  });

  it.each([
    ["the scheduler", () => cluster.address],
    ["a worker's data port", () => cluster.workers[0]!.address],
  ])("answers a text frame on %s with bad-frame and closes", async (_what, url) => {
    const { decoded, closeCode } = await rawExchange(url(), "hello?");
    expect(decoded).toMatchObject({ ok: true, messages: [{ type: "error", code: "bad-frame" }] });
    expect(closeCode).toBe(1008);
  });

  it.each([
    ["the scheduler", () => cluster.address],
    ["a worker's data port", () => cluster.workers[0]!.address],
  ])("answers an invalid hello on %s with bad-message and closes", async (_what, url) => {
    const frame = encodeFrame([{ type: "hello", protocol: PROTOCOL_VERSION, role: "emperor" }]);
    const { decoded, closeCode } = await rawExchange(url(), frame);
    expect(decoded).toMatchObject({ ok: true, messages: [{ type: "error", code: "bad-message" }] });
    expect(closeCode).toBe(1008);
  });

  it("answers a hello of another protocol version with protocol-mismatch", async () => {
    const frame = encodeFrame([{ type: "hello", protocol: PROTOCOL_VERSION + 99, role: "peer" }]);
    const { decoded } = await rawExchange(cluster.workers[0]!.address, frame);
    expect(decoded).toMatchObject({
      ok: true,
      messages: [{ type: "error", code: "protocol-mismatch" }],
    });
  });

  it("answers a malformed message after the hello with bad-message and closes", async () => {
    const ws = new WebSocket(cluster.workers[0]!.address, {
      headers: { authorization: `Bearer ${cluster.token}` },
    });
    sockets.push(ws);
    await new Promise((resolve) => ws.once("open", resolve));
    const messages: { type?: string; code?: string }[] = [];
    ws.on("message", (data) => {
      const decoded = decodeFrame(data as Buffer);
      if (decoded.ok) messages.push(...(decoded.messages as { type?: string }[]));
    });
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    for (const c of encodeFrame([{ type: "hello", protocol: PROTOCOL_VERSION, role: "peer" }]))
      ws.send(c);
    for (const c of encodeFrame([{ type: "get-data", requestId: -1, keys: "not a list" }]))
      ws.send(c);
    expect(await closed).toBe(1008);
    expect(messages.at(-1)).toMatchObject({ type: "error", code: "bad-message" });
    expect(messages.some((m) => m.type === "data")).toBe(false);
  });
});
