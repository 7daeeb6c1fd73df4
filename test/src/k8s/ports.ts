import { createServer, type Server } from "node:net";

/**
 * Picks `count` distinct free TCP ports on 127.0.0.1 by binding them all at once
 * and releasing them. Another process may still grab one before a component binds
 * it; the component then exits with "address already in use" and start-up fails
 * with that log line.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", resolve);
      });
    }
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === "string")
        throw new Error("a TCP server reported no port");
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
