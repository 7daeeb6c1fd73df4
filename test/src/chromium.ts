import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

/** Debian's Chromium (`bash scripts/setup.sh chromium`), driven by playwright-core. */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * Headless Chromium as every browser test runs it: no sandbox (root in CI), no GPU, no
 * traffic of its own (background networking, updates, QUIC, sync). `extraArgs` adds
 * flags, e.g. a `--host-resolver-rules` mapping for a DNS-rebinding test.
 */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run \`bash scripts/setup.sh chromium\` first`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-quic",
      "--no-first-run",
      "--disable-sync",
      ...extraArgs,
    ],
  });
}
