import { Agent, request as httpsRequest, type RequestOptions } from "node:https";
import { request as httpRequest, Agent as HttpAgent } from "node:http";
import { KubeConfig } from "@kubernetes/client-node";
import { isNotFound, KubeApiError, KubeError } from "./errors.js";

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

export interface KubeClientOptions {
  /** Requests in flight at once; more wait their turn (watches do not count). Default 64. */
  maxInflight?: number;
  /** A request (not a watch) that has not answered after this long fails. Default 30 s. */
  timeoutMs?: number;
  /** Called after every request, e.g. KubeRequestMetrics.observe. */
  observers?: RequestObserver[];
}

/**
 * Reads a kubeconfig with @kubernetes/client-node: the file if given, else the in-cluster
 * ServiceAccount (`fallback: "cluster"`) or client-node's default search (`KUBECONFIG`,
 * `~/.kube/config`, in-cluster). `hint` says what to do when it fails.
 */
export function loadKubeConfig(
  file: string | undefined,
  fallback: "cluster" | "default",
  hint: string,
): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (file) kc.loadFromFile(file);
    else if (fallback === "cluster") kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (error) {
    throw new KubeError(
      "kubeconfig",
      `cannot load ${file ? `kubeconfig ${file}` : fallback === "cluster" ? "in-cluster config" : "the default kubeconfig"}: ${(error as Error).message}; ${hint}`,
      { cause: error },
    );
  }
  if (!kc.getCurrentCluster()) {
    throw new KubeError("kubeconfig", `the kubeconfig has no current cluster; ${hint}`);
  }
  return kc;
}

/**
 * launchbay's Kubernetes REST client over keep-alive HTTP(S): JSON in and out, server-side
 * apply, merge and JSON patches, metadata-only lists and newline-delimited watches.
 * Configuration and credentials come from @kubernetes/client-node's KubeConfig (client
 * certificates, bearer tokens, basic auth, exec plugins, in-cluster token files; headers
 * refreshed every minute so rotated tokens are used). A semaphore bounds requests in
 * flight; every request has a timeout; a path prefix in the server URL (an API server
 * behind a proxy) is kept. Errors are KubeApiError: classify them with isNotFound & co.
 */
export class KubeClient {
  private headers: Record<string, string> = {};
  private refreshedAt = 0;
  private inflight = 0;
  private readonly waiting: (() => void)[] = [];
  readonly observers: RequestObserver[];

  private constructor(
    private readonly kc: KubeConfig,
    private readonly server: URL,
    private readonly tls: RequestOptions,
    private readonly agent: Agent | HttpAgent,
    private readonly maxInflight: number,
    private readonly timeoutMs: number,
    observers: RequestObserver[],
  ) {
    this.observers = [...observers];
  }

  static async create(kc: KubeConfig, options: KubeClientOptions = {}): Promise<KubeClient> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) {
      throw new KubeError(
        "kubeconfig",
        "the kubeconfig has no current cluster: choose a context that has one",
      );
    }
    const maxInflight = options.maxInflight ?? 64;
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
    const agentOptions = { keepAlive: true, maxSockets: maxInflight + 16 };
    const agent =
      server.protocol === "https:"
        ? new Agent({ ...agentOptions, ...tls } as ConstructorParameters<typeof Agent>[0])
        : new HttpAgent(agentOptions);
    const client = new KubeClient(
      kc,
      server,
      tls,
      agent,
      maxInflight,
      options.timeoutMs ?? 30_000,
      options.observers ?? [],
    );
    await client.refreshHeaders();
    return client;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.inflight;
  }

  /** Requests waiting for a free in-flight slot. */
  get queued(): number {
    return this.waiting.length;
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
      if (isNotFound(error)) return undefined;
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
      if (!isNotFound(error)) throw error;
    }
  }

  async put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PUT", path, { body });
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

  private requestOptions(
    method: string,
    accept?: string,
    contentType?: string,
    length?: number,
  ): RequestOptions {
    const headers: Record<string, string> = {
      ...this.headers,
      Accept: accept ?? "application/json",
    };
    if (contentType) headers["Content-Type"] = contentType;
    if (length !== undefined) headers["Content-Length"] = String(length);
    return { method, headers, agent: this.agent, ...this.tls };
  }

  private send(
    method: string,
    path: string,
    spec: RequestSpec,
  ): Promise<{ status: number; body: string }> {
    const payload = spec.body === undefined ? undefined : Buffer.from(JSON.stringify(spec.body));
    const options = this.requestOptions(
      method,
      spec.accept,
      payload === undefined ? undefined : (spec.contentType ?? "application/json"),
      payload?.length,
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
      req.setTimeout(this.timeoutMs, () =>
        req.destroy(
          new KubeError(
            "kube-timeout",
            `${method} ${path} had no answer after ${this.timeoutMs} ms: check that the API server at ${this.server.origin} is reachable and not overloaded`,
          ),
        ),
      );
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
