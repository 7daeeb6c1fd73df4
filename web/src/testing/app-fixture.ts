import type { LightMyRequestResponse } from "fastify";
import { buildApp, type LauncherApp } from "../app.js";
import { type LauncherConfigInput, parseConfig } from "../config.js";
import { ATTENDEE_COOKIE } from "../http/identity.js";
import { ScriptedBackend } from "./scripted-backend.js";

export const ORGANISER_TOKEN = "organiser-token-for-tests-0123456789";

export interface Fixture {
  app: LauncherApp;
  backend: ScriptedBackend;
  clock: { now: number };
}

/** A launcher over a ScriptedBackend with a controllable clock and quiet logs. */
export async function buildFixture(overrides: LauncherConfigInput = {}): Promise<Fixture> {
  const clock = { now: Date.parse("2026-03-01T10:00:00Z") };
  const backend = new ScriptedBackend(() => clock.now);
  const config = parseConfig({
    cookieSecret: "a-cookie-secret-that-is-long-enough-0123456789",
    organiserToken: ORGANISER_TOKEN,
    logLevel: "silent",
    ...overrides,
  });
  const app = await buildApp({ config, backend, now: () => clock.now, logger: false });
  return { app, backend, clock };
}

/** The identity cookie a response set, as a Cookie header value. */
export function cookieFrom(res: LightMyRequestResponse): string {
  const cookie = res.cookies.find((c) => c.name === ATTENDEE_COOKIE);
  if (!cookie) throw new Error(`response set no ${ATTENDEE_COOKIE} cookie`);
  return `${ATTENDEE_COOKIE}=${cookie.value}`;
}

/** Visits the launch page as a new attendee and returns their cookie. */
export async function newAttendee(app: LauncherApp): Promise<string> {
  return cookieFrom(await app.inject({ method: "GET", url: "/" }));
}
