import { chmod, mkdir, open } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** Where a generated organiser token goes when there is no terminal to show it on. */
export function defaultOrganiserTokenFile(): string {
  return join(
    process.env.LAUNCHBAY_CACHE ?? join(homedir(), ".cache", "launchbay"),
    "organiser-token",
  );
}

/** Writes a secret to a file only its owner can read (0600, also when the file existed). */
export async function writeSecretFile(path: string, secret: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const file = await open(path, "w", 0o600);
  try {
    await file.chmod(0o600);
    await file.writeFile(`${secret}\n`);
  } finally {
    await file.close();
  }
  await chmod(path, 0o600);
}

/**
 * How a generated organiser token reaches the person who started the launcher: shown
 * once on their terminal, or — when stderr is a file or pipe, i.e. a log — written to a
 * 0600 file whose path is shown instead, so the token never lands in a log.
 */
export async function organiserTokenNotice(options: {
  token: string;
  terminal: boolean;
  file?: string;
}): Promise<string> {
  if (options.terminal) return `organiser token (shown once, not logged): ${options.token}`;
  const file = options.file ?? defaultOrganiserTokenFile();
  await writeSecretFile(file, options.token);
  return `organiser token written to ${file} (readable by this user only)`;
}
