import { connect as http2Connect, constants as h2 } from "node:http2";
import { connect as netConnect } from "node:net";

/**
 * Asks a CRI runtime over its unix socket for `runtime.v1.RuntimeService/Version` —
 * the call the kubelet makes first, and fails hard on ("server is not initialized
 * yet" while containerd's CRI plugin is still recovering its state, which `ctr
 * version` does not see). Plain gRPC over HTTP/2: an empty VersionRequest is a
 * 5-byte frame (no compression, length 0); success is `grpc-status: 0`.
 *
 * Resolves to undefined when the runtime answers, or to the gRPC error message.
 */
export async function criVersionError(
  socketPath: string,
  timeoutMs = 5_000,
): Promise<string | undefined> {
  const session = http2Connect("http://localhost", {
    createConnection: () => netConnect(socketPath),
  });
  try {
    return await new Promise<string | undefined>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no CRI answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      session.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      const request = session.request({
        [h2.HTTP2_HEADER_METHOD]: "POST",
        [h2.HTTP2_HEADER_PATH]: "/runtime.v1.RuntimeService/Version",
        [h2.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
        te: "trailers",
      });
      let status: string | undefined;
      let message = "";
      const take = (headers: Record<string, unknown>) => {
        if (headers["grpc-status"] !== undefined) status = String(headers["grpc-status"]);
        if (headers["grpc-message"] !== undefined)
          message = decodeURIComponent(String(headers["grpc-message"]));
      };
      request.on("response", take);
      request.on("trailers", take);
      request.on("data", () => undefined);
      request.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      request.on("close", () => {
        clearTimeout(timer);
        if (status === undefined) reject(new Error("the CRI answer had no grpc-status"));
        else resolve(status === "0" ? undefined : `grpc-status ${status}: ${message}`);
      });
      request.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  } finally {
    session.destroy();
  }
}
