import { readFile } from "node:fs/promises";
import { Agent, request } from "node:https";

/**
 * HTTPS to the control plane's components for their health endpoints (etcd, the API
 * server's /readyz, controller manager, scheduler), before any kubeconfig is usable.
 * Kubernetes API calls go through @launchbay/kube.
 */

/** A mutual-TLS endpoint: the CA that signed the server and a client certificate. */
export interface TlsEndpoint {
  /** https://127.0.0.1:port */
  url: string;
  agent: Agent;
}

export async function tlsEndpoint(
  url: string,
  files: { ca: string; cert?: string; key?: string },
): Promise<TlsEndpoint> {
  const [ca, cert, key] = await Promise.all([
    readFile(files.ca),
    files.cert ? readFile(files.cert) : undefined,
    files.key ? readFile(files.key) : undefined,
  ]);
  return { url, agent: new Agent({ ca, cert, key, keepAlive: true, maxSockets: 8 }) };
}

export interface HttpResponse {
  status: number;
  body: string;
}

/** One HTTPS request; rejects only on transport errors (any HTTP status resolves). */
export function httpsRequest(
  endpoint: TlsEndpoint,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      new URL(path, endpoint.url),
      {
        method,
        agent: endpoint.agent,
        timeout: timeoutMs,
        headers: payload
          ? { "content-type": "application/json", accept: "application/json" }
          : { accept: "application/json" },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () =>
      req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)),
    );
    req.on("error", reject);
    req.end(payload);
  });
}
