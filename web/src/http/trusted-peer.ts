import { BlockList, isIP } from "node:net";

/**
 * Whether the connection's peer is one of our proxies, so its X-Forwarded-Proto/Host may
 * be believed (raw upgrades do not go through Fastify's own trust-proxy handling):
 * a hop count ≥ 1 trusts the immediate peer; a list trusts the addresses/ranges it names.
 */
export function trustsPeer(trust: false | number | string[], address: string | undefined) {
  if (trust === false || !address) return false;
  if (typeof trust === "number") return trust >= 1;
  const peer = address.startsWith("::ffff:") ? address.slice(7) : address;
  const family = isIP(peer) === 6 ? "ipv6" : "ipv4";
  const list = new BlockList();
  for (const entry of trust) {
    const [ip = "", prefix] = entry.split("/");
    const type = isIP(ip) === 6 ? "ipv6" : "ipv4";
    if (prefix === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(prefix), type);
  }
  return list.check(peer, family);
}
