import replyFrom from "@fastify/reply-from";
import type { FastifyInstance, FastifyReply } from "fastify";
import {
  downstreamResponseHeaders,
  type ProxyTarget,
  rewriteLocation,
  upstreamRequestHeaders,
} from "@launchbay/web";

/** Registers @fastify/reply-from (undici) for proxyWithReplyFrom, in this scope. */
export async function registerReplyFrom(scope: FastifyInstance): Promise<void> {
  await scope.register(replyFrom, { undici: { connections: 64, pipelining: 1 } });
}

/**
 * The candidate library for `npm run bench:proxy`: the same forwarding as proxyHttp (same header rules, same Location rewrite), done by
 * @fastify/reply-from on undici. Resolves with the upstream status; rejects when the
 * upstream cannot be reached before anything was sent.
 */
export function proxyWithReplyFrom(
  reply: FastifyReply,
  target: ProxyTarget,
): Promise<number> {
  const { upstream, publicPrefix } = target;
  const base = upstream.baseUrl;
  return new Promise((resolve, reject) => {
    reply.from(new URL(target.path, base).toString(), {
      rewriteRequestHeaders: (req) =>
        upstreamRequestHeaders(req.headers, upstream.headers, target.forwarded) as Record<
          string,
          string
        >,
      rewriteHeaders: (headers) => {
        const out = downstreamResponseHeaders(headers, target.responseHeaders);
        const location = headers.location;
        if (typeof location === "string")
          out.location = rewriteLocation(location, publicPrefix, base.pathname);
        return out as Record<string, string>;
      },
      onResponse: (_request, res, response) => {
        resolve(response.statusCode);
        res.send(response.stream);
      },
      onError: (_res, { error }) => reject(error),
    });
  });
}
