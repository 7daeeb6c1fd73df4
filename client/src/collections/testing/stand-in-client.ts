/**
 * A Client stand-in for graph-construction tests: collections only use their client when
 * they run, so any call fails the test.
 */
import type { Client } from "../../client.js";

function unexpected(name: string): never {
  throw new Error(`graph construction must not call client.${name}()`);
}

export function standInClient(): Client {
  return {
    submit: () => unexpected("submit"),
    gather: () => unexpected("gather"),
    wait: () => unexpected("wait"),
  } as unknown as Client;
}
