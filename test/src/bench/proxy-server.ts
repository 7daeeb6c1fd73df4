/**
 * One process of `npm run bench:proxy`: `upstream` (a stand-in for a sandbox's notebook
 * server), or a launcher-shaped proxy in front of it with the launcher's header rules:
 * `own`, the launcher's former proxy (test/src/bench/node-http-proxy.ts, node:http with
 * Fastify's hijack), or `reply-from`, the launcher's proxy now (web/src/proxy/http-proxy.ts,
 * @fastify/reply-from on undici).
 * Prints `listening <port>` on stdout.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type ProxyTarget, proxyHttp, registerHttpProxy } from "@launchbay/web";
import Fastify from "fastify";
import { proxyWithNodeHttp } from "./node-http-proxy.js";

const [variant, upstreamPort] = process.argv.slice(2);
const BIG = Buffer.alloc(1024 * 1024, 7);

async function main(): Promise<void> {
  if (variant === "upstream") {
    const small = Buffer.from(JSON.stringify({ content: "x".repeat(900), ok: true }));
    const server = createServer((req, res) => {
      if (req.url?.startsWith("/base/big")) {
        const mib = Number(new URL(req.url, "http://x").searchParams.get("mib") ?? 32);
        res.writeHead(200, { "content-type": "application/octet-stream" });
        let sent = 0;
        const pump = () => {
          while (sent < mib) {
            sent += 1;
            if (!res.write(BIG)) return void res.once("drain", pump);
          }
          res.end();
        };
        pump();
        return;
      }
      if (req.method === "POST") {
        let n = 0;
        req.on("data", (c: Buffer) => {
          n += c.length;
        });
        req.on("end", () => res.end(JSON.stringify({ received: n })));
        return;
      }
      res.writeHead(200, { "content-type": "application/json", "content-length": small.length });
      res.end(small);
    });
    server.keepAliveTimeout = 60_000;
    server.listen(0, "127.0.0.1", () =>
      console.log(`listening ${(server.address() as AddressInfo).port}`),
    );
    return;
  }
  const app = Fastify({ logger: false });
  const upstreamBase = new URL(`http://127.0.0.1:${upstreamPort}/base/`);
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // reply-from streams a body that is a stream; proxyHttp reads request.raw itself.
    scope.addContentTypeParser("*", (_request, payload, done) => done(null, payload));
    if (variant === "reply-from") await registerHttpProxy(scope);
    scope.all("/s/sb-bench/notebook/*", async (request, reply) => {
      const rest = (request.params as { "*": string })["*"];
      const query = request.url.includes("?") ? request.url.slice(request.url.indexOf("?")) : "";
      const target: ProxyTarget = {
        upstream: { baseUrl: upstreamBase, headers: { authorization: "token bench" } },
        publicPrefix: "/s/sb-bench/notebook/",
        path: `/base/${rest}${query}`,
        forwarded: { for: request.ip, proto: "http", host: request.headers.host },
        responseHeaders: { "content-security-policy": "default-src 'self'" },
      };
      if (variant === "reply-from") {
        return proxyHttp(
          reply,
          target,
          () => {},
          (res) => res.code(502).send(),
        );
      }
      reply.hijack();
      await proxyWithNodeHttp(request.raw, reply.raw, target);
    });
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  console.log(`listening ${(app.server.address() as AddressInfo).port}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
