/** Turns anything a task throws into the wire's `RemoteErrorShape`. */
import type { RemoteErrorShape } from "@launchbay/protocol";

const MAX_TEXT = 100_000;

export function describeError(error: unknown): RemoteErrorShape {
  if (error instanceof Error) {
    const shape: RemoteErrorShape = {
      name: clip(error.name || "Error", 200),
      message: clip(error.message, MAX_TEXT),
    };
    if (typeof error.stack === "string") shape.stack = clip(error.stack, MAX_TEXT);
    return shape;
  }
  let message: string;
  try {
    message =
      typeof error === "string"
        ? error
        : `a non-Error value was thrown: ${JSON.stringify(error) ?? String(error)}`;
  } catch {
    message = `a non-Error value was thrown: ${String(error)}`;
  }
  return { name: "Error", message: clip(message, MAX_TEXT) };
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 20)}… (truncated)`;
}
