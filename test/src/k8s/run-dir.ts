import { homedir } from "node:os";
import { join } from "node:path";

/** Where `npm run k8s:up` keeps its control plane: ${LAUNCHBAY_CACHE:-~/.cache/launchbay}/k8s-run. */
export function backgroundRunDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.LAUNCHBAY_CACHE ?? join(homedir(), ".cache", "launchbay"), "k8s-run");
}

/** A word quoted for POSIX shells. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The lines a shell evaluates to use a control plane: `eval "$(npm run -s k8s:up)"`. */
export function exportLines(kubeconfig: string, toolsDir: string): string {
  return `export KUBECONFIG=${shellQuote(kubeconfig)}\nexport PATH=${shellQuote(toolsDir)}:"$PATH"\n`;
}
