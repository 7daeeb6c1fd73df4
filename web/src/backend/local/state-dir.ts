import { randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { LauncherError } from "../../errors.js";
import { processStartTime } from "./process-identity.js";

/** `$LAUNCHBAY_CACHE` or `~/.cache/launchbay`: where the launcher keeps its state by default. */
export function defaultStateDir(): string {
  return process.env.LAUNCHBAY_CACHE ?? join(homedir(), ".cache", "launchbay");
}

export const COOKIE_SECRET_FILE = "cookie-secret";
export const ORGANISER_TOKEN_FILE = "organiser-token";
const LOCK_FILE = "launcher.lock";

/**
 * Creates the state directory (0700) or checks an existing one: a directory (not a
 * symlink) owned by this user that nobody else can write to, since the secrets and the
 * sandboxes' tokens live in it.
 */
export function prepareStateDir(dir: string): void {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  if (!stat.isDirectory()) {
    throw new LauncherError(
      "invalid-config",
      `the state directory ${dir} is not a directory: give --state-dir a directory of its own`,
    );
  }
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    throw new LauncherError(
      "invalid-config",
      `the state directory ${dir} belongs to uid ${stat.uid}, not to this user (${uid}): give --state-dir a directory of your own`,
    );
  }
  if ((stat.mode & 0o022) !== 0) {
    throw new LauncherError(
      "invalid-config",
      `the state directory ${dir} can be written by other users (mode ${(stat.mode & 0o777).toString(8)}): run \`chmod go-w ${dir}\` or give --state-dir another directory`,
    );
  }
}

/**
 * Makes this launcher the only one using `dir`: two launchers on one state would each
 * stop the other's sandboxes. A lock left by a launcher that died (`kill -9`) is taken over.
 * Returns the function that releases it.
 */
export function lockStateDir(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  const own = `${process.pid} ${processStartTime(process.pid) ?? 0}\n`;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, own);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, "utf8") === own) rmSync(path);
        } catch {
          // Already gone.
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const [pid, startTime] = readFileSync(path, "utf8").trim().split(" ").map(Number);
    if (pid && pid !== process.pid && processStartTime(pid) === startTime) {
      throw new LauncherError(
        "invalid-config",
        `another launcher (pid ${pid}) uses the state directory ${dir}: stop it first, or give this one its own --state-dir`,
      );
    }
    rmSync(path, { force: true });
  }
  throw new LauncherError("invalid-config", `cannot lock the state directory ${dir}`);
}

/**
 * A secret kept in `<dir>/<name>` (mode 0600): read when it is there, else generated once
 * and written, so cookies and the organiser's sign-in survive restarts.
 */
export function loadOrCreateSecret(
  dir: string,
  name: string,
  minLength: number,
  generate: () => string,
): { value: string; path: string; created: boolean } {
  const path = join(dir, name);
  if (existsSync(path)) {
    const stat = lstatSync(path);
    if (!stat.isFile() || (stat.mode & 0o077) !== 0) {
      throw new LauncherError(
        "invalid-config",
        `${path} must be a regular file only its owner can read (mode 0600; it is ${(stat.mode & 0o777).toString(8)}): run \`chmod 600 ${path}\``,
      );
    }
    const value = readFileSync(path, "utf8").trim();
    if (value.length < minLength) {
      throw new LauncherError(
        "invalid-config",
        `${path} holds fewer than ${minLength} characters: delete it to have a new secret generated`,
      );
    }
    return { value, path, created: false };
  }
  const value = generate();
  const fd = openSync(path, "wx", 0o600);
  writeSync(fd, `${value}\n`);
  closeSync(fd);
  chmodSync(path, 0o600);
  return { value, path, created: true };
}

export const generateCookieSecret = (): string => randomBytes(32).toString("base64url");
export const generateOrganiserToken = (): string => randomBytes(24).toString("base64url");
