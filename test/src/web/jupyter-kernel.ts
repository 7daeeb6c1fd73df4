import { randomUUID } from "node:crypto";
import WebSocket from "ws";

/** What one executed cell produced. */
export interface CellResult {
  /** `ok`, `error`, or `died` when the kernel process was killed while running it. */
  status: "ok" | "error" | "died";
  stdout: string;
  error?: string;
}

interface KernelMessage {
  header: { msg_type: string; msg_id: string };
  parent_header: { msg_id?: string };
  channel?: string;
  content: Record<string, unknown>;
}

/**
 * A kernel started through a Jupyter server's REST API and driven over its WebSocket
 * channels (the way JupyterLab does), authenticated with the server's token.
 */
export class JupyterKernel {
  private readonly session = randomUUID();

  private constructor(
    readonly id: string,
    private readonly ws: WebSocket,
  ) {}

  static async start(
    baseUrl: URL,
    headers: Record<string, string>,
    kernelName = "tslab",
  ): Promise<JupyterKernel> {
    const res = await fetch(new URL("api/kernels", baseUrl), {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ name: kernelName }),
    });
    if (res.status !== 201) throw new Error(`starting a kernel: ${res.status} ${await res.text()}`);
    const { id } = (await res.json()) as { id: string };
    const url = new URL(`api/kernels/${id}/channels`, baseUrl);
    url.protocol = url.protocol.replace("http", "ws");
    const ws = new WebSocket(url, { headers });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, r) =>
        reject(new Error(`kernel WebSocket refused: ${r.statusCode}`)),
      );
    });
    return new JupyterKernel(id, ws);
  }

  /** Runs `code` and collects its stdout until the kernel is idle again (or dies). */
  execute(code: string, timeoutMs = 240_000): Promise<CellResult> {
    const msgId = randomUUID();
    return new Promise<CellResult>((resolve, reject) => {
      let stdout = "";
      let error: string | undefined;
      let replied: "ok" | "error" | undefined;
      let idle = false;
      const done = (result: CellResult) => {
        clearTimeout(timer);
        this.ws.off("message", onMessage);
        this.ws.off("close", onClose);
        resolve(result);
      };
      const timer = setTimeout(() => {
        this.ws.off("message", onMessage);
        this.ws.off("close", onClose);
        reject(new Error(`cell did not finish in ${timeoutMs} ms; output so far: ${stdout}`));
      }, timeoutMs);
      const onClose = () => done({ status: "died", stdout, error });
      const onMessage = (data: WebSocket.RawData) => {
        const msg = JSON.parse(data.toString()) as KernelMessage;
        const type = msg.header.msg_type;
        if (type === "status") {
          const state = msg.content.execution_state;
          // Jupyter's restarter announces a killed kernel without a parent message.
          if (state === "restarting" || state === "dead") {
            done({ status: "died", stdout, error });
            return;
          }
        }
        if (msg.parent_header.msg_id !== msgId) return;
        if (type === "stream" && msg.content.name === "stdout") stdout += String(msg.content.text);
        if (type === "error") error = `${msg.content.ename}: ${msg.content.evalue}`;
        // The reply (shell channel) and idle (iopub) may arrive in either order.
        if (type === "execute_reply") replied = msg.content.status === "ok" ? "ok" : "error";
        if (type === "status" && msg.content.execution_state === "idle") idle = true;
        if (idle && replied) done({ status: replied, stdout, error });
      };
      this.ws.on("message", onMessage);
      this.ws.on("close", onClose);
      this.ws.send(
        JSON.stringify({
          header: {
            msg_id: msgId,
            msg_type: "execute_request",
            username: "test",
            session: this.session,
            version: "5.3",
            date: new Date().toISOString(),
          },
          parent_header: {},
          metadata: {},
          channel: "shell",
          content: {
            code,
            silent: false,
            store_history: false,
            user_expressions: {},
            allow_stdin: false,
            stop_on_error: true,
          },
          buffers: [],
        }),
      );
    });
  }

  close(): void {
    this.ws.close();
  }
}
