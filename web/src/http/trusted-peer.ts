import { BlockList, isIP } from "node:net";

/**
 * Whether a connection's peer is one of our proxies, so its X-Forwarded-Proto/Host may
 * be believed (raw upgrades do not go through Fastify's own trust-proxy handling):
 * a hop count ≥ 1 trusts the immediate peer; a list trusts the addresses/ranges it names.
 * The list is compiled once; the returned check runs per connection.
 */
export function peerTrust(trust: false | number | string[]): (address?: string) => boolean {
  if (trust === false) return () => false;
  if (typeof trust === "number") return (address) => Boolean(address) && trust >= 1;
  const list = new BlockList();
  for (const entry of trust) {
    const [ip = "", prefix] = entry.split("/");
    const type = isIP(ip) === 6 ? "ipv6" : "ipv4";
    if (prefix === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(prefix), type);
  }
  return (address) => {
    if (!address) return false;
    const peer = address.startsWith("::ffff:") ? address.slice(7) : address;
    return list.check(peer, isIP(peer) === 6 ? "ipv6" : "ipv4");
  };
}

/** One-off form of {@link peerTrust}. */
export function trustsPeer(trust: false | number | string[], address: string | undefined) {
  return peerTrust(trust)(address);
}
