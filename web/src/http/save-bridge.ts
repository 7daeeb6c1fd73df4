import type { WebSocket } from "ws";

/** What asking a sandbox's open JupyterLab tabs to save came to. */
export interface SaveOutcome {
  /** JupyterLab tabs of the sandbox connected to the bridge when asked. */
  tabs: number;
  /** Tabs that answered within the time given. */
  answered: number;
  /** Documents saved (they had unsaved changes). */
  saved: number;
  /** Documents whose save failed. */
  failed: number;
}

/** The most JupyterLab tabs of one sandbox connected at once (more are refused). */
export const MAX_TABS_PER_SANDBOX = 32;

interface Tab {
  ws: WebSocket;
  pending: Map<number, (answer: { saved: number; failed: number } | undefined) => void>;
  alive: boolean;
}

/**
 * The save bridge: every JupyterLab tab of a sandbox keeps a WebSocket open to the
 * launcher on the sandbox's own origin (`/s/<id>/save-bridge`, opened by the
 * `@launchbay/save-bridge` JupyterLab extension in web/jupyter/labextensions, with that
 * origin's sandbox cookie). Before Download and before the sandbox is stopped (expiry,
 * Expire, idle timeout) the launcher sends each tab `{type: "save", request}`; the tab
 * saves every open document with unsaved changes and answers `{type: "saved", request,
 * saved, failed}`. The launcher waits for every answer, or until the time given is up:
 * Download and expiry never hang on a tab. Only the launcher ever asks; a tab can only
 * answer (anything else closes its socket), and saving is all a request can make it do.
 */
export class SaveBridge {
  private readonly tabs = new Map<string, Set<Tab>>();
  private nextRequest = 1;
  private readonly pinger: NodeJS.Timeout;

  constructor(pingMs = 30_000) {
    // A tab that stopped answering pings (a laptop asleep, a dropped network) is let go.
    this.pinger = setInterval(() => {
      for (const set of this.tabs.values()) {
        for (const tab of set) {
          if (!tab.alive) {
            tab.ws.terminate();
            continue;
          }
          tab.alive = false;
          tab.ws.ping();
        }
      }
    }, pingMs);
    this.pinger.unref();
  }

  /** Tabs of sandbox `id` connected now. */
  connected(id: string): number {
    return this.tabs.get(id)?.size ?? 0;
  }

  /** Whether sandbox `id` may connect one more tab. */
  hasRoom(id: string): boolean {
    return this.connected(id) < MAX_TABS_PER_SANDBOX;
  }

  /** Takes over an accepted WebSocket of a JupyterLab tab of sandbox `id`. */
  attach(id: string, ws: WebSocket): void {
    const tab: Tab = { ws, pending: new Map(), alive: true };
    let set = this.tabs.get(id);
    if (!set) {
      set = new Set();
      this.tabs.set(id, set);
    }
    set.add(tab);
    const detach = () => {
      set.delete(tab);
      if (set.size === 0 && this.tabs.get(id) === set) this.tabs.delete(id);
      for (const settle of tab.pending.values()) settle(undefined);
      tab.pending.clear();
    };
    ws.on("pong", () => {
      tab.alive = true;
    });
    ws.on("close", detach);
    ws.on("error", detach);
    ws.on("message", (data, isBinary) => {
      const answer = isBinary ? undefined : parseAnswer(data.toString());
      if (!answer || answer.request >= this.nextRequest) {
        ws.close(1008, "a tab only answers save requests");
        return;
      }
      // An answer after its request's time was up is too late to count.
      const settle = tab.pending.get(answer.request);
      tab.pending.delete(answer.request);
      settle?.({ saved: answer.saved, failed: answer.failed });
    });
  }

  /**
   * Asks every connected JupyterLab tab of sandbox `id` to save its open documents;
   * resolves once all have answered, or after `timeoutMs` with what came in by then.
   */
  async saveAll(id: string, timeoutMs: number): Promise<SaveOutcome> {
    const set = this.tabs.get(id);
    const outcome: SaveOutcome = { tabs: set?.size ?? 0, answered: 0, saved: 0, failed: 0 };
    if (!set || set.size === 0 || timeoutMs <= 0) return outcome;
    const request = this.nextRequest++;
    let timer: NodeJS.Timeout | undefined;
    const asked = [...set].map(
      (tab) =>
        new Promise<void>((resolve) => {
          tab.pending.set(request, (answer) => {
            if (answer) {
              outcome.answered += 1;
              outcome.saved += answer.saved;
              outcome.failed += answer.failed;
            }
            resolve();
          });
          tab.ws.send(JSON.stringify({ type: "save", request }), (err) => {
            if (err) tab.pending.get(request)?.(undefined);
          });
        }),
    );
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.all(asked), timedOut]);
    clearTimeout(timer);
    for (const tab of set) tab.pending.delete(request);
    return outcome;
  }

  /** Lets every tab go (the launcher is shutting down). */
  close(): void {
    clearInterval(this.pinger);
    for (const set of this.tabs.values()) for (const tab of set) tab.ws.terminate();
    this.tabs.clear();
  }
}

function parseAnswer(text: string): { request: number; saved: number; failed: number } | undefined {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof msg !== "object" || msg === null) return undefined;
  const { type, request, saved, failed } = msg as Record<string, unknown>;
  const count = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  if (type !== "saved" || !count(request) || !count(saved) || !count(failed)) return undefined;
  return { request: request as number, saved: saved as number, failed: failed as number };
}
