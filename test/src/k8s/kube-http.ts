import { readFile } from "node:fs/promises";
import { Agent, request } from "node:https";
import { K8sHarnessError, K8sHarnessErrorCode } from "./errors.js";

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

/** A Kubernetes API call that must succeed (2xx); returns the decoded body. */
export async function kubeApi<T = unknown>(
  endpoint: TlsEndpoint,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  let response: HttpResponse;
  try {
    response = await httpsRequest(endpoint, method, path, body);
  } catch (error) {
    throw new K8sHarnessError(
      K8sHarnessErrorCode.ApiRequestFailed,
      `${method} ${path}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (response.status < 200 || response.status >= 300) {
    throw new K8sHarnessError(
      K8sHarnessErrorCode.ApiRequestFailed,
      `${method} ${path} answered ${response.status}: ${response.body.slice(0, 500)}`,
    );
  }
  return JSON.parse(response.body) as T;
}

interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

/**
 * Watches a collection (path without query; `query` adds selectors) and resolves
 * with the first object for which `done` returns true. A watch without a
 * resourceVersion first replays every existing object as ADDED, so objects that
 * already match resolve at once. Rejects after timeoutMs.
 */
export function watchUntil<T>(
  endpoint: TlsEndpoint,
  path: string,
  query: Record<string, string>,
  done: (object: T, type: WatchEvent<T>["type"]) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, endpoint.url);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    url.searchParams.set("watch", "true");
    url.searchParams.set("timeoutSeconds", String(Math.ceil(timeoutMs / 1000)));
    let settled = false;
    const finish = (error: Error | undefined, value?: T) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      if (error) reject(error);
      else resolve(value as T);
    };
    const timer = setTimeout(
      () =>
        finish(
          new K8sHarnessError(
            K8sHarnessErrorCode.NotReady,
            `timed out after ${timeoutMs} ms waiting for ${what}`,
          ),
        ),
      timeoutMs,
    );
    const req = request(
      url,
      { agent: endpoint.agent, headers: { accept: "application/json" } },
      (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            finish(
              new K8sHarnessError(
                K8sHarnessErrorCode.ApiRequestFailed,
                `watch ${path} answered ${res.statusCode}: ${Buffer.concat(chunks).toString("utf8").slice(0, 500)}`,
              ),
            ),
          );
          return;
        }
        let buffered = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffered += chunk;
          let newline = buffered.indexOf("\n");
          while (newline >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            newline = buffered.indexOf("\n");
            if (line === "") continue;
            const event = JSON.parse(line) as WatchEvent<T>;
            if (event.type === "ERROR") {
              finish(
                new K8sHarnessError(
                  K8sHarnessErrorCode.ApiRequestFailed,
                  `watch ${path} failed: ${line.slice(0, 500)}`,
                ),
              );
              return;
            }
            if (event.type !== "BOOKMARK" && done(event.object, event.type)) {
              finish(undefined, event.object);
              return;
            }
          }
        });
        res.on("end", () =>
          finish(
            new K8sHarnessError(
              K8sHarnessErrorCode.NotReady,
              `the API server ended the watch before ${what}`,
            ),
          ),
        );
        res.on("error", (error) => finish(error));
      },
    );
    req.on("error", (error) => finish(error));
    req.end();
  });
}
