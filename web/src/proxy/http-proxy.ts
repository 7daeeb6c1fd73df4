import type { FastifyInstance, FastifyReply } from "fastify";
import replyFrom from "@fastify/reply-from";
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
 * Registers @fastify/reply-from (undici) in a proxy scope. Its content-type parser must
 * hand the body on as the request stream (`done(null, payload)`): reply-from streams a
 * body that is a stream and sends none when the body is undefined.
 */
export async function registerHttpProxy(scope: FastifyInstance): Promise<void> {
  await scope.register(replyFrom, { undici: { connections: 128, pipelining: 1 } });
}

/**
 * Streams one HTTP request to the sandbox service and its response back, with
 * @fastify/reply-from (chosen over the launcher's own node:http proxy by `npm run
 * bench:proxy`: web/README.md#the-proxy). Headers follow headers.ts: the browser's
 * credentials and launcher cookies never reach the sandbox, the sandbox's credentials are
 * added, its redirects are rewritten under the public prefix. `done` is called once with
 * the upstream status, or with the error when the upstream could not be reached (then
 * nothing has been sent yet and `unreachable` answers).
 */
export function proxyHttp(
  reply: FastifyReply,
  target: ProxyTarget,
  done: (result: { status: number } | { error: Error }) => void,
  unreachable: (reply: FastifyReply) => void,
): FastifyReply {
  const { upstream, publicPrefix } = target;
  const base = upstream.baseUrl;
  return reply.from(new URL(target.path, base).toString(), {
    // Exactly the query of target.path (none for the dashboard): reply-from would otherwise
    // append the browser's own query string when the target has none.
    queryString: (search: string | undefined) => (search ?? "").replace(/^\?/, ""),
    rewriteRequestHeaders: (request) =>
      upstreamRequestHeaders(request.headers, upstream.headers, target.forwarded) as Record<
        string,
        string
      >,
    rewriteHeaders: (headers) => {
      const out = downstreamResponseHeaders(headers, target.responseHeaders);
      if (typeof headers.location === "string")
        out.location = rewriteLocation(headers.location, publicPrefix, base.pathname);
      return out as Record<string, string>;
    },
    onResponse: (_request, res, response) => {
      done({ status: response.statusCode });
      res.send(response.stream);
    },
    onError: (res, { error }) => {
      done({ error });
      if (res.sent || res.raw.headersSent) res.raw.destroy();
      else unreachable(res as unknown as FastifyReply);
    },
  });
}
