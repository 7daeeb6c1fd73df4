import { execFile } from "node:child_process";
import { readdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { realNode } from "./layout.js";

const exec = promisify(execFile);

/** Runs a host command; rejects with its stderr. */
export async function sh(command: string, args: string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await exec(command, args, { timeout: timeoutMs, maxBuffer: 64 << 20 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")}: ${(e.stderr || e.message).trim()}`);
  }
}

/** Like sh, but a failure is only collected (tear-down goes on after each step). */
export async function tryStep(errors: string[], what: string, step: () => Promise<unknown>) {
  try {
    await step();
  } catch (error) {
    errors.push(`${what}: ${(error as Error).message}`);
  }
}

const sysctlPath = (name: string) => join("/proc/sys", ...name.split("."));

/** The current value of each sysctl the node may change (absent ones are left out). */
export async function recordSysctls(): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const name of realNode.sysctls) {
    try {
      values[name] = (await readFile(sysctlPath(name), "utf8")).trim();
    } catch {
      // Not on this kernel (e.g. br_netfilter or nf_conntrack not loaded yet).
    }
  }
  return values;
}

export async function writeSysctl(name: string, value: string): Promise<void> {
  await writeFile(sysctlPath(name), `${value}\n`);
}

export async function restoreSysctls(values: Record<string, string>, errors: string[]) {
  for (const [name, value] of Object.entries(values)) {
    await tryStep(errors, `restoring ${name}=${value}`, async () => {
      const now = (await readFile(sysctlPath(name), "utf8")).trim();
      if (now !== value) await writeSysctl(name, value);
    });
  }
}

export async function linkExists(name: string): Promise<boolean> {
  const out = await sh("ip", ["-o", "link", "show"]);
  return out.split("\n").some((line) => line.split(":")[1]?.trim().split("@")[0] === name);
}

/** The pod bridge, with its address (the node IP), up. */
export async function createBridge(): Promise<void> {
  if (!(await linkExists(realNode.bridge))) {
    await sh("ip", ["link", "add", realNode.bridge, "type", "bridge"]);
  }
  const addresses = await sh("ip", ["-o", "-4", "addr", "show", "dev", realNode.bridge]);
  if (!addresses.includes(`${realNode.bridgeAddress}/`)) {
    const prefix = realNode.podCidr.split("/")[1];
    await sh("ip", ["addr", "add", `${realNode.bridgeAddress}/${prefix}`, "dev", realNode.bridge]);
  }
  await sh("ip", ["link", "set", realNode.bridge, "up"]);
}

/**
 * Pod traffic never leaves the machine: in the mangle table's POSTROUTING (before any
 * ACCEPT kube-proxy or kube-router add in other tables), a packet from the pod range or to
 * the service range going out of any interface but the bridge and loopback is dropped.
 */
export async function installEgressDrop(): Promise<void> {
  const chain = realNode.egressChain;
  const rules = await sh("iptables", ["-t", "mangle", "-S"]);
  if (!rules.includes(`-N ${chain}`)) await sh("iptables", ["-t", "mangle", "-N", chain]);
  await sh("iptables", ["-t", "mangle", "-F", chain]);
  const add = (...rule: string[]) => sh("iptables", ["-t", "mangle", "-A", chain, ...rule]);
  await add("-o", realNode.bridge, "-j", "RETURN");
  await add("-o", "lo", "-j", "RETURN");
  await add("-s", realNode.podCidr, "-j", "DROP");
  await add("-d", realNode.serviceCidr, "-j", "DROP");
  if (!rules.includes(`-A POSTROUTING -j ${chain}`)) {
    await sh("iptables", ["-t", "mangle", "-I", "POSTROUTING", "1", "-j", chain]);
  }
}

/** Chains the node's agents create: kube-proxy (KUBE-), kube-router (KUBE-ROUTER-, KUBE-NWPLCY-, KUBE-POD-FW-, ...), CNI (CNI-), and ours. */
const ownedChain = /^(KUBE-|CNI-|LAUNCHBAY-NODE-)/;
/** kube-router's NetworkPolicy chains only. */
export const kubeRouterChain = /^KUBE-(ROUTER|NWPLCY|POD-FW)-/;

/** Deletes every rule jumping to an owned chain, then the owned chains, in every table. */
export async function removeOwnedIptables(
  binary: "iptables" | "ip6tables",
  errors: string[],
  owned: RegExp = ownedChain,
) {
  for (const table of ["mangle", "nat", "filter", "raw"]) {
    await tryStep(errors, `${binary} -t ${table}`, async () => {
      const rules = (await sh(binary, ["-t", table, "-S"])).split("\n");
      const chains = rules
        .filter((r) => r.startsWith("-N "))
        .map((r) => r.slice(3).trim())
        .filter((c) => owned.test(c));
      // Rules in built-in chains that jump to owned ones.
      for (const rule of rules) {
        const m = /^-A (\S+) (.*)$/.exec(rule);
        if (!m || owned.test(m[1] ?? "")) continue;
        const target = / -j (\S+)/.exec(rule)?.[1] ?? / -g (\S+)/.exec(rule)?.[1];
        if (target && owned.test(target)) {
          await sh(binary, ["-t", table, "-D", m[1] as string, ...splitRule(m[2] as string)]);
        }
      }
      for (const chain of chains) await sh(binary, ["-t", table, "-F", chain]);
      for (const chain of chains) await sh(binary, ["-t", table, "-X", chain]);
    });
  }
}

/** Splits an `iptables -S` rule into arguments, keeping "quoted strings" (comments) whole. */
export function splitRule(rule: string): string[] {
  const args: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(rule); m; m = re.exec(rule)) args.push(m[1] ?? (m[2] as string));
  return args;
}

/** kube-router's ipsets (kube-router-*, KUBE-SRC-*, KUBE-DST-*, inet6:...). */
export async function removeOwnedIpsets(errors: string[]) {
  await tryStep(errors, "ipset", async () => {
    const names = (await sh("ipset", ["list", "-n"])).split("\n").filter(Boolean);
    const owned = names.filter((n) => /^(kube-router|KUBE-|inet6:kube-router|inet6:KUBE-)/.test(n));
    for (const name of owned) await sh("ipset", ["flush", name]);
    for (const name of owned) await sh("ipset", ["destroy", name]);
  });
}

/** Unmounts every mount under the given directories, deepest first. */
export async function unmountUnder(dirs: string[], errors: string[]) {
  await tryStep(errors, "unmounting", async () => {
    const mounts = (await readFile("/proc/self/mounts", "utf8"))
      .split("\n")
      .map((line) => line.split(" ")[1]?.replace(/\\040/g, " "))
      .filter((m): m is string => !!m && dirs.some((d) => m === d || m.startsWith(`${d}/`)))
      .sort((a, b) => b.length - a.length);
    for (const mount of mounts) {
      await sh("umount", ["-l", mount]).catch((e) => errors.push((e as Error).message));
    }
  });
}

/**
 * Removes the kubelet's pod cgroups (kubepods under each v1 hierarchy). Processes still in
 * them (containers whose containerd died) are killed first, by pid; then the cgroups are
 * removed deepest first. One error line per hierarchy left behind.
 */
export async function removePodCgroups(errors: string[]) {
  await tryStep(errors, "pod cgroups", async () => {
    const root = "/sys/fs/cgroup";
    const trees = (await readdir(root)).map((c) => join(root, c, "kubepods"));
    for (let attempt = 0; attempt < 50; attempt++) {
      const pids = new Set<number>();
      for (const tree of trees) for (const pid of await cgroupPids(tree)) pids.add(pid);
      if (pids.size === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone already
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const tree of trees) {
      const left: string[] = [];
      await removeCgroupTree(tree, left);
      if (left.length > 0) errors.push(`${tree}: ${left.length} cgroups left (${left[0]})`);
    }
  });
}

async function removeCgroupTree(dir: string, left: string[]): Promise<void> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (entry.isDirectory()) await removeCgroupTree(join(dir, entry.name), left);
  }
  await rmdir(dir).catch((e: Error) => left.push(`rmdir ${dir}: ${e.message}`));
}

async function cgroupPids(dir: string): Promise<number[]> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const pids = (await readFile(join(dir, "cgroup.procs"), "utf8").catch(() => ""))
    .split("\n")
    .filter(Boolean)
    .map(Number);
  for (const entry of entries) {
    if (entry.isDirectory()) pids.push(...(await cgroupPids(join(dir, entry.name))));
  }
  return pids;
}

/** Network namespaces the CNI created for pods (cni-<uuid> under /run/netns). */
export async function removePodNetns(errors: string[]) {
  await tryStep(errors, "pod network namespaces", async () => {
    let names: string[] = [];
    try {
      names = (await readdir("/run/netns")).filter((n) => n.startsWith("cni-"));
    } catch {
      return;
    }
    for (const name of names) await sh("ip", ["netns", "delete", name]);
  });
}
