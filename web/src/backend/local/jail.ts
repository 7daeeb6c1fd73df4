import { relative, join } from "node:path";
import type { Cover } from "./exposure.js";
import type { SandboxUser } from "./sandbox-user.js";
import type { CommandSpec } from "./service-process.js";

/** Everything that confines one sandbox's processes when the launcher runs as root. */
export interface Jail {
  user: SandboxUser;
  /** `cgroup.procs` files of the sandbox's cgroup(s). */
  cgroupProcs: string[];
  /** Closed directories to cover in the sandbox's mount namespace (see exposure.ts). */
  covers: Cover[];
  /** An empty directory of the launcher's, used as a temporary mount point. */
  stageDir: string;
}

// Runs as root for a moment, inside the process that becomes the sandbox's service, so
// nothing of the sandbox runs before it is confined: it writes its own pid to the
// cgroup(s), builds the mount namespace's view, then replaces itself (same pid) with
// setpriv, which drops to the sandbox's user, group and no capabilities for good and
// executes the service. Arguments arrive positionally, never interpolated into the text;
// its own tools come from the system directories, not from the sandbox's PATH.
const SCRIPT = `set -eu
lb_path=$PATH
PATH=/usr/sbin:/usr/bin:/sbin:/bin
setpriv=$(command -v setpriv)
n=$1; shift
while [ "$n" -gt 0 ]; do echo $$ > "$1"; shift; n=$((n - 1)); done
m=$1; shift
while [ "$m" -gt 0 ]; do
  case "$1" in
    stage) mount --bind "$2" "$3" ;;
    tmpfs) mount -t tmpfs -o mode=0755,size=1m,nosuid,nodev launchbay "$2" ;;
    ro) mkdir -p "$3"; mount --bind "$2" "$3"; mount -o remount,bind,ro,nosuid,nodev "$3" ;;
    rw) mkdir -p "$3"; mount --bind "$2" "$3" ;;
    unstage) umount -l "$2" ;;
    *) echo "launchbay jail: unknown step $1" >&2; exit 125 ;;
  esac
  shift 3; m=$((m - 1))
done
umask 077
uid=$1; gid=$2; shift 2
PATH=$lb_path
exec "$setpriv" --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs \\
  --bounding-set=-all --inh-caps=-all -- "$@"
`;

/** The mount steps (kind, a, b) that build a sandbox's view of the covered directories. */
export function mountSteps(covers: Cover[], stageDir: string): [string, string, string][] {
  const steps: [string, string, string][] = [];
  for (const cover of covers) {
    // The directory's real contents stay reachable at the stage while the tmpfs hides
    // them at their own place; the needed paths are mounted back from there.
    steps.push(["stage", cover.dir, stageDir]);
    steps.push(["tmpfs", cover.dir, "-"]);
    for (const p of cover.paths) {
      steps.push([p.writable ? "rw" : "ro", join(stageDir, relative(cover.dir, p.path)), p.path]);
    }
    steps.push(["unstage", stageDir, "-"]);
  }
  return steps;
}

/** The command that runs `spec` confined by `jail` (same environment, same working dir). */
export function jailed(spec: CommandSpec, jail: Jail): CommandSpec {
  const steps = mountSteps(jail.covers, jail.stageDir);
  const shArgs = [
    "-c",
    SCRIPT,
    "launchbay-jail",
    String(jail.cgroupProcs.length),
    ...jail.cgroupProcs,
    String(steps.length),
    ...steps.flat(),
    String(jail.user.uid),
    String(jail.user.gid),
    spec.command,
    ...spec.args,
  ];
  if (steps.length === 0) return { ...spec, command: "/bin/sh", args: shArgs };
  return {
    ...spec,
    command: "unshare",
    args: ["--mount", "--propagation", "private", "/bin/sh", ...shArgs],
  };
}
