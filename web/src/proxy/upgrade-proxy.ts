import { type IncomingMessage, request as httpRequest } from "node:http";
import type { Duplex } from "node:stream";
import { rewriteLocation, upstreamRequestHeaders } from "./headers.js";
import type { ProxyTarget } from "./http-proxy.js";

/** Writes a minimal HTTP response on a raw socket and closes it (for refused upgrades). */
export function refuseUpgrade(socket: Duplex, status: number, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  const reasons: Record<number, string> = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    421: "Misdirected Request",
  };
  const reason = reasons[status] ?? "Bad Gateway";
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

/**
 * Proxies a WebSocket (or any HTTP/1.1 upgrade) to the sandbox service as raw bytes:
 * the upstream's 101 response, subprotocol included, goes back unchanged, then both
 * sockets are piped. Resolves once the tunnel is up; rejects if the upstream is unreachable.
 */
export function proxyUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  target: ProxyTarget,
): Promise<void> {
  const { upstream, publicPrefix } = target;
  const base = upstream.baseUrl;
  return new Promise((resolve, reject) => {
    const headers = upstreamRequestHeaders(req.headers, upstream.headers, target.forwarded);
    headers.connection = "Upgrade";
    headers.upgrade = req.headers.upgrade ?? "websocket";
    const outgoing = httpRequest({
      protocol: base.protocol,
      hostname: base.hostname,
      port: base.port,
      method: req.method,
      path: target.path,
      headers,
    });
    outgoing.on("upgrade", (res, upstreamSocket, upstreamHead) => {
      let response = `HTTP/1.1 ${res.statusCode ?? 101} ${res.statusMessage ?? "Switching Protocols"}\r\n`;
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        response += `${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`;
      }
      response += "\r\n";
      socket.write(response);
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      upstreamSocket.on("error", () => socket.destroy());
      socket.on("error", () => upstreamSocket.destroy());
      upstreamSocket.on("close", () => socket.destroy());
      socket.on("close", () => upstreamSocket.destroy());
      upstreamSocket.pipe(socket);
      socket.pipe(upstreamSocket);
      resolve();
    });
    outgoing.on("response", (res) => {
      // The upstream declined the upgrade: pass its answer on and close.
      let response = `HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ""}\r\n`;
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        const name = res.rawHeaders[i]!;
        let value = res.rawHeaders[i + 1]!;
        if (name.toLowerCase() === "location")
          value = rewriteLocation(value, publicPrefix, base.pathname);
        if (name.toLowerCase() === "connection" || name.toLowerCase() === "transfer-encoding")
          continue;
        response += `${name}: ${value}\r\n`;
      }
      response += "Connection: close\r\n\r\n";
      socket.write(response);
      res.pipe(socket);
      resolve();
    });
    outgoing.on("error", reject);
    socket.on("error", () => outgoing.destroy());
    outgoing.end();
  });
}
