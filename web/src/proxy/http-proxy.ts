import { type IncomingMessage, type ServerResponse, request as httpRequest } from "node:http";
import type { Upstream } from "../backend/backend.js";
import { downstreamResponseHeaders, rewriteLocation, upstreamRequestHeaders } from "./headers.js";

export interface ProxyTarget {
  upstream: Upstream;
  /** The public path prefix the request came in under, e.g. `/s/sb-x/notebook/`. */
  publicPrefix: string;
  forwarded: { for: string | undefined; proto: string; host: string | undefined };
  /** The upstream path to request (already confined below the prefix), query included. */
  path: string;
  /** Response headers that replace the upstream's (lower-case names). */
  responseHeaders?: Record<string, string>;
}

/**
 * Streams one HTTP request to the sandbox service and its response back. Resolves with
 * the upstream status, or rejects when the upstream cannot be reached (nothing has been
 * written to `res` then, so the caller can still answer with an error).
 */
export function proxyHttp(
  req: IncomingMessage,
  res: ServerResponse,
  target: ProxyTarget,
): Promise<number> {
  const { upstream, publicPrefix } = target;
  const base = upstream.baseUrl;
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({
      protocol: base.protocol,
      hostname: base.hostname,
      port: base.port,
      method: req.method,
      path: target.path,
      headers: upstreamRequestHeaders(req.headers, upstream.headers, target.forwarded),
    });
    outgoing.on("response", (incoming) => {
      const headers = downstreamResponseHeaders(incoming.headers, target.responseHeaders);
      const location = incoming.headers.location;
      if (location) headers.location = rewriteLocation(location, publicPrefix, base.pathname);
      res.writeHead(incoming.statusCode ?? 502, headers);
      incoming.pipe(res);
      incoming.on("error", () => res.destroy());
      resolve(incoming.statusCode ?? 502);
    });
    outgoing.on("error", (err) => {
      if (res.headersSent) res.destroy();
      reject(err);
    });
    res.on("close", () => {
      if (!res.writableFinished) outgoing.destroy();
    });
    req.pipe(outgoing);
  });
}
