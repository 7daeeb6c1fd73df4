import { type IncomingMessage, type ServerResponse, request as httpRequest } from "node:http";
import {
  downstreamResponseHeaders,
  type ProxyTarget,
  rewriteLocation,
  upstreamRequestHeaders,
} from "@launchbay/web";

/**
 * The baseline of `npm run bench:proxy`: the launcher's former own proxy on node:http
 * (replaced by @fastify/reply-from, which the benchmark found faster). Streams one HTTP request to the sandbox service and its response back. Resolves with
 * the upstream status, or rejects when the upstream cannot be reached (nothing has been
 * written to `res` then, so the caller can still answer with an error).
 */
export function proxyWithNodeHttp(
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
