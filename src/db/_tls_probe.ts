/**
 * Asks a PostgreSQL server whether it accepts TLS (the SSLRequest message of
 * the protocol: the server answers one byte, `S` or `N`). Used only after a
 * connection with `sslmode=require` or stricter failed, to say why in one line
 * instead of "lost the connection".
 *
 * @module
 */
import net from "node:net";

/**
 * Resolves `true` (the server offers TLS), `false` (it does not), or
 * `undefined` (no answer within `timeoutMs`, or the connection failed).
 */
export function serverOffersTls(
  host: string,
  port: number,
  timeoutMs = 2000,
): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (answer: boolean | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once("error", () => done(undefined));
    socket.once("connect", () => {
      // Length 8, request code 80877103 (1234 << 16 | 5679).
      socket.write(new Uint8Array([0, 0, 0, 8, 4, 210, 22, 47]));
    });
    socket.once("data", (data: Uint8Array) => done(data[0] === 0x53));
  });
}
