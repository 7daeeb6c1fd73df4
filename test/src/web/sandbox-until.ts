import type { Backend, SandboxState } from "@launchbay/web";

/** Resolves with the sandbox's state once `predicate` holds (undefined once it is deleted). */
export function until(
  b: Backend,
  id: string,
  predicate: (s: SandboxState | undefined) => boolean,
): Promise<SandboxState | undefined> {
  return new Promise((resolve) => {
    if (predicate(b.get(id))) return resolve(b.get(id));
    const stop = b.watch(id, (event) => {
      const state = event.type === "deleted" ? undefined : event.state;
      if (predicate(state)) {
        stop();
        resolve(state);
      }
    });
  });
}
