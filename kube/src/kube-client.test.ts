import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { isConflict, isNotFound, KubeError } from "./errors.js";
import { KubeClient, resourceOfPath } from "./kube-client.js";

describe("resourceOfPath", () => {
  it("names the resource (and subresource) of an API path", () => {
    expect(resourceOfPath("/api/v1/namespaces/a/pods")).toBe("pods");
    expect(resourceOfPath("/api/v1/namespaces/sbx-1")).toBe("namespaces");
    expect(resourceOfPath("/api/v1/namespaces")).toBe("namespaces");
    expect(resourceOfPath("/apis/apps/v1/namespaces/a/deployments/workers")).toBe("deployments");
    expect(resourceOfPath("/apis/launchbay.dev/v1alpha1/namespaces/e/sandboxes/s/status")).toBe(
      "sandboxes/status",
    );
    expect(resourceOfPath("/apis/apps/v1/deployments?watch=1")).toBe("deployments");
  });
});

/** A loopback HTTP server standing in for an API server; each test answers its own way. */
let server: Server | undefined;
async function apiServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
afterEach(async () => {
  const s = server;
  server = undefined;
  if (!s) return;
  s.closeAllConnections();
  await new Promise((r) => s.close(r));
});

function kubeConfig(serverUrl: string, user: Record<string, string>): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // client-node refuses plain HTTP unless TLS verification is explicitly off.
    clusters: [{ name: "c", server: serverUrl, skipTLSVerify: true }],
    users: [{ name: "u", ...user }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

const status = (res: ServerResponse, code: number, reason: string) =>
  res
    .writeHead(code, { "content-type": "application/json" })
    .end(JSON.stringify({ kind: "Status", code, reason, message: `${reason} here` }));

describe("KubeClient", () => {
  it("sends basic-auth credentials from the kubeconfig and keeps the server's path prefix", async () => {
    const seen: { url?: string; auth?: string }[] = [];
    const url = await apiServer((req, res) => {
      seen.push({ url: req.url, auth: req.headers.authorization });
      res.writeHead(200, { "content-type": "application/json" }).end('{"kind":"Pod"}');
    });
    const kc = kubeConfig(`${url}/k8s/clusters/c1`, { username: "ada", password: "s3cret" });
    const client = await KubeClient.create(kc);
    await expect(client.get("/api/v1/namespaces/a/pods/p")).resolves.toEqual({ kind: "Pod" });
    client.close();
    expect(seen).toEqual([
      {
        url: "/k8s/clusters/c1/api/v1/namespaces/a/pods/p",
        auth: `Basic ${Buffer.from("ada:s3cret").toString("base64")}`,
      },
    ]);
  });

  it("sends a bearer token and classifies the answers (404, 409) as typed errors", async () => {
    const auths: (string | undefined)[] = [];
    const url = await apiServer((req, res) => {
      auths.push(req.headers.authorization);
      if (req.method === "GET") status(res, 404, "NotFound");
      else status(res, 409, "AlreadyExists");
    });
    const observed: string[] = [];
    const client = await KubeClient.create(kubeConfig(url, { token: "t0ken" }), {
      observers: [(verb, code, _s, resource) => observed.push(`${verb} ${resource} ${code}`)],
    });
    const missing = await client.get("/api/v1/namespaces/a/pods/p").catch((e: unknown) => e);
    expect(isNotFound(missing)).toBe(true);
    expect(String(missing)).toContain("NotFound here");
    await expect(client.getOptional("/api/v1/namespaces/a/pods/p")).resolves.toBeUndefined();
    const exists = await client.create("/api/v1/namespaces/a/pods", {}).catch((e: unknown) => e);
    expect(isConflict(exists)).toBe(true);
    client.close();
    expect(new Set(auths)).toEqual(new Set(["Bearer t0ken"]));
    expect(observed).toEqual(["GET pods 404", "GET pods 404", "POST pods 409"]);
  });

  it("fails a request the server does not answer within the timeout", async () => {
    const url = await apiServer(() => {
      // never answers
    });
    const client = await KubeClient.create(kubeConfig(url, { token: "t" }), { timeoutMs: 200 });
    const error = await client.get("/api/v1/namespaces").catch((e: unknown) => e);
    client.close();
    expect(error).toBeInstanceOf(KubeError);
    expect((error as KubeError).code).toBe("kube-timeout");
  });

  it("keeps at most maxInflight requests in flight; the rest wait their turn", async () => {
    let open = 0;
    let maxOpen = 0;
    const url = await apiServer((_req, res) => {
      open += 1;
      maxOpen = Math.max(maxOpen, open);
      // Answer on the next turn of the event loop, so requests overlap at the server.
      setImmediate(() => {
        open -= 1;
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    const client = await KubeClient.create(kubeConfig(url, { token: "t" }), { maxInflight: 2 });
    const requests = Array.from({ length: 8 }, () => client.get("/api/v1/namespaces"));
    await Promise.resolve();
    expect({ inFlight: client.inFlight, queued: client.queued }).toEqual({
      inFlight: 2,
      queued: 6,
    });
    await Promise.all(requests);
    client.close();
    expect(maxOpen).toBeLessThanOrEqual(2);
    expect({ inFlight: client.inFlight, queued: client.queued }).toEqual({
      inFlight: 0,
      queued: 0,
    });
  });
});
