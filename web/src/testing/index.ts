export {
  buildFixture,
  cookieFrom,
  type Fixture,
  newAttendee,
  ORGANISER_TOKEN,
} from "./app-fixture.js";
export { ScriptedBackend } from "./scripted-backend.js";
