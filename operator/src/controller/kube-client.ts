import { Agent, request as httpsRequest, type RequestOptions } from "node:https";
import { request as httpRequest, Agent as HttpAgent } from "node:http";
import type { KubeConfig } from "@kubernetes/client-node";
import { KubeApiError, OperatorError } from "../errors.js";

export interface RequestSpec {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
}

/** Called after every API request (for metrics). */
export type RequestObserver = (
  method: string,
  status: number,
  seconds: number,
  resource: string,
) => void;

/** `pods`, `sandboxes/status`, ... from an API path (for metrics labels). */
export function resourceOfPath(path: string): string {
  const parts = path.split("?")[0]!.split("/").filter(Boolean);
  // /api/v1/... or /apis/<group>/<version>/...
  const rest = parts[0] === "api" ? parts.slice(2) : parts.slice(3);
  if (rest[0] === "namespaces" && rest.length > 2) rest.splice(0, 2);
  const sub = rest.length > 2 ? `/${rest[2]}` : "";
  return `${rest[0] ?? ""}${sub}`;
}

/**
 * A small Kubernetes REST client over keep-alive HTTPS: JSON in and out, server-side
 * apply, merge and JSON patches, metadata-only lists and newline-delimited watches.
 * Credentials come from a KubeConfig (client certificates, tokens, in-cluster token files,
 * refreshed every minute). A semaphore bounds requests in flight.
 */
export class KubeClient {
  private headers: Record<string, string> = {};
  private refreshedAt = 0;
  private inflight = 0;
  private readonly waiting: (() => void)[] = [];
  readonly observers: RequestObserver[] = [];

  private constructor(
    private readonly kc: KubeConfig,
    private readonly server: URL,
    private readonly tls: RequestOptions,
    private readonly agent: Agent | HttpAgent,
    private readonly maxInflight: number,
  ) {}

  static async create(kc: KubeConfig, options: { maxInflight: number }): Promise<KubeClient> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) {
      throw new OperatorError(
        "kubeconfig",
        "the kubeconfig has no current cluster: pass --kubeconfig <file> or run in a cluster",
      );
    }
    const server = new URL(cluster.server);
    const opts: RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const tls: RequestOptions = {
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      servername: opts.servername,
    };
    if (opts.rejectUnauthorized !== undefined) tls.rejectUnauthorized = opts.rejectUnauthorized;
    const agentOptions = { keepAlive: true, maxSockets: options.maxInflight + 16 };
    const agent =
      server.protocol === "https:"
        ? new Agent({ ...agentOptions, ...tls } as ConstructorParameters<typeof Agent>[0])
        : new HttpAgent(agentOptions);
    const client = new KubeClient(kc, server, tls, agent, options.maxInflight);
    await client.refreshHeaders();
    return client;
  }

  /** The API server's URL. */
  get serverUrl(): string {
    return this.server.toString();
  }

  async get<T>(path: string, spec: RequestSpec = {}): Promise<T> {
    return this.request<T>("GET", path, spec);
  }

  /** GET that answers undefined for 404. */
  async getOptional<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  async create<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("POST", path, { body });
  }

  /** Server-side apply under fieldManager, forcing ownership of the fields we set. */
  async apply<T>(path: string, object: unknown, fieldManager: string): Promise<T> {
    return this.request<T>("PATCH", path, {
      body: object,
      contentType: "application/apply-patch+yaml",
      query: { fieldManager, force: true },
    });
  }

  async mergePatch<T>(path: string, patch: unknown, fieldManager?: string): Promise<T> {
    return this.request<T>("PATCH", path, {
      body: patch,
      contentType: "application/merge-patch+json",
      query: { fieldManager },
    });
  }

  async jsonPatch<T>(path: string, ops: unknown[], fieldManager?: string): Promise<T> {
    return this.request<T>("PATCH", path, {
      body: ops,
      contentType: "application/json-patch+json",
      query: { fieldManager },
    });
  }

  /** DELETE that treats 404 as done. */
  async delete(path: string, query?: RequestSpec["query"]): Promise<void> {
    try {
      await this.request("DELETE", path, query ? { query } : {});
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 404)) throw error;
    }
  }

  async request<T>(method: string, path: string, spec: RequestSpec = {}): Promise<T> {
    await this.acquire();
    const started = process.hrtime.bigint();
    let status = 0;
    try {
      await this.refreshHeaders();
      const response = await this.send(method, path, spec);
      status = response.status;
      const text = response.body;
      if (status >= 400) throw apiError(status, method, path, text);
      return (text ? JSON.parse(text) : undefined) as T;
    } finally {
      this.release();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      for (const o of this.observers) o(method, status, seconds, resourceOfPath(path));
    }
  }

  /**
   * Streams a watch: calls onEvent per JSON line until the server closes the stream
   * (resolve) or it fails (reject). Watches do not count against the in-flight limit.
   */
  watch(
    path: string,
    query: RequestSpec["query"],
    accept: string | undefined,
    onEvent: (event: { type: string; object: unknown }) => void,
    signal: AbortSignal,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const url = this.url(path, { ...query, watch: true });
      const req = this.transport()(url, {
        ...this.requestOptions("GET", accept),
        signal,
      });
      req.on("response", (res) => {
        for (const o of this.observers) o("WATCH", res.statusCode ?? 0, 0, resourceOfPath(path));
        if ((res.statusCode ?? 0) >= 400) {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            text += c;
          });
          res.on("end", () => reject(apiError(res.statusCode ?? 0, "WATCH", path, text)));
          return;
        }
        let buffer = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffer += chunk;
          let newline = buffer.indexOf("\n");
          while (newline >= 0) {
            const line = buffer.slice(0, newline);
            buffer = buffer.slice(newline + 1);
            if (line.trim()) {
              try {
                onEvent(JSON.parse(line));
              } catch (error) {
                req.destroy(error as Error);
                return;
              }
            }
            newline = buffer.indexOf("\n");
          }
        });
        res.on("end", () => resolve());
        res.on("error", reject);
        res.on("aborted", () => reject(new Error("watch stream aborted")));
      });
      req.on("error", (error) => {
        if (signal.aborted) resolve();
        else reject(error);
      });
      req.end();
    });
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.agent.destroy();
  }

  private transport() {
    return this.server.protocol === "https:" ? httpsRequest : httpRequest;
  }

  private url(path: string, query: RequestSpec["query"] = {}): URL {
    const url = new URL(path, this.server);
    // Keep a path prefix of the server URL (e.g. behind a proxy).
    if (this.server.pathname !== "/") url.pathname = this.server.pathname.replace(/\/$/, "") + path;
    for (const [k, v] of Object.entries(query))
      if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  private requestOptions(method: string, accept?: string, contentType?: string): RequestOptions {
    const headers: Record<string, string> = {
      ...this.headers,
      Accept: accept ?? "application/json",
    };
    if (contentType) headers["Content-Type"] = contentType;
    return { method, headers, agent: this.agent, ...this.tls };
  }

  private send(
    method: string,
    path: string,
    spec: RequestSpec,
  ): Promise<{ status: number; body: string }> {
    const payload = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    const options = this.requestOptions(
      method,
      spec.accept,
      payload === undefined ? undefined : (spec.contentType ?? "application/json"),
    );
    return new Promise((resolve, reject) => {
      const req = this.transport()(
        this.url(path, spec.query),
        { ...options, signal: spec.signal },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            body += c;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          res.on("error", reject);
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path} timed out after 30s`)));
      req.on("error", reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  private async refreshHeaders() {
    if (Date.now() - this.refreshedAt < 60_000) return;
    this.refreshedAt = Date.now();
    const opts: RequestOptions = { headers: {} };
    await this.kc.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {}))
      if (typeof v === "string") headers[k] = v;
    this.headers = headers;
    if (opts.auth)
      this.headers.Authorization = `Basic ${Buffer.from(opts.auth).toString("base64")}`;
  }

  private acquire(): Promise<void> {
    if (this.inflight < this.maxInflight) {
      this.inflight += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.waiting.push(() => resolve())).then(() => {
      this.inflight += 1;
    });
  }

  private release() {
    this.inflight -= 1;
    this.waiting.shift()?.();
  }
}

function apiError(status: number, method: string, path: string, text: string): KubeApiError {
  let reason = "";
  let message = text.slice(0, 2000);
  try {
    const parsed = JSON.parse(text) as { reason?: string; message?: string };
    reason = parsed.reason ?? "";
    message = parsed.message ?? message;
  } catch {
    // not a Status object: keep the raw text
  }
  return new KubeApiError(status, method, path, reason, message);
}
