import { parseArgs } from "node:util";
import { ARCHIVE_URLS_DIR } from "./constants.js";
import { keepWork } from "./keeper.js";
import { restoreWork, saveWork } from "./transfer.js";

const USAGE = `launchbay-work-archive: keeps a sandbox's work in object storage through presigned URLs
  launchbay-work-archive keep    --dir <work> [--urls <dir>] [--marker <file>]
      restore once the GET URL appears, save to the PUT URL on SIGTERM (the archive container)
  launchbay-work-archive save    --dir <work> --url <presigned PUT URL>
  launchbay-work-archive restore --dir <work> --url <presigned GET URL>`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  let values: { dir?: string; url?: string; urls?: string; marker?: string; poll?: string };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        dir: { type: "string" },
        url: { type: "string" },
        urls: { type: "string" },
        marker: { type: "string" },
        poll: { type: "string" },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const log = (m: string) =>
    console.log(JSON.stringify({ time: new Date().toISOString(), msg: m }));
  if (!values.dir || (command !== "keep" && !values.url)) {
    console.error(USAGE);
    return 2;
  }
  switch (command) {
    case "keep": {
      const stop = new Promise<void>((resolve) => {
        process.once("SIGTERM", () => resolve());
        process.once("SIGINT", () => resolve());
      });
      log(`Keeping ${values.dir}: restoring when a GET URL appears, saving on SIGTERM`);
      // Nothing else keeps the process alive while it waits for SIGTERM.
      const alive = setInterval(() => undefined, 1 << 30);
      return keepWork(
        {
          dir: values.dir,
          urlsDir: values.urls ?? ARCHIVE_URLS_DIR,
          marker: values.marker ?? "/tmp/.launchbay-restored",
          pollMs: Number(values.poll ?? 2000),
          log,
        },
        stop,
      ).finally(() => clearInterval(alive));
    }
    case "save": {
      const saved = await saveWork(values.dir, values.url as string);
      log(`Archived work: ${saved.files} files, ${saved.bytes} bytes`);
      return 0;
    }
    case "restore": {
      const restored = await restoreWork(values.dir, values.url as string);
      log(restored ? `Restored ${restored.files} files` : "No archived work to restore");
      return 0;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}
