/**
 * Inbound forwards (slirp's `redir`, QEMU's `hostfwd`): a port on the host
 * that leads to a port on the peer. `tcp:[ADDR:]HOSTPORT=PEERPORT` listens on
 * the host (127.0.0.1 unless ADDR says otherwise) and connects to the peer
 * over the link; `udp:…` relays datagrams the same way.
 */
import net from "node:net";
import dgram from "node:dgram";
import type { Logger as Log } from "../log.js";
import { join } from "../join.js";
import type { LinkUdpSocket } from "../link-net.js";
import type { MasqueradeStack } from "./stack-face.js";

export interface RedirectSpec {
  proto: "tcp" | "udp";
  hostAddress: string;
  hostPort: number;
  peerPort: number;
  text: string;
}

export class RedirectError extends Error {}

export function parseRedirect(text: string): RedirectSpec {
  const m = /^(tcp|udp):(?:([0-9.]+):)?(\d{1,5})=(\d{1,5})$/.exec(text.trim());
  const hostPort = Number(m?.[3]);
  const peerPort = Number(m?.[4]);
  if (!m || !(hostPort > 0 && hostPort < 65536 && peerPort > 0 && peerPort < 65536)) {
    throw new RedirectError(`bad --redirect '${text}': expected tcp:[ADDR:]HOSTPORT=PEERPORT or udp:[ADDR:]HOSTPORT=PEERPORT`);
  }
  return { proto: m[1] as "tcp" | "udp", hostAddress: m[2] ?? "127.0.0.1", hostPort, peerPort, text };
}

export interface RedirectStack extends MasqueradeStack {
  udpSocket(opts?: { port?: number }): LinkUdpSocket;
}

/** Start one redirect; `peer()` gives the peer's current address (undefined while the link is down). */
export async function startRedirect(
  spec: RedirectSpec,
  stack: () => RedirectStack | undefined,
  peer: () => string | undefined,
  log: Log,
): Promise<{ close(): void }> {
  if (spec.proto === "tcp") {
    const server = net.createServer({ allowHalfOpen: true }, (client) => {
      const s = stack();
      const to = peer();
      if (!s || !to) {
        log("warn", `redirect ${spec.text}: link is down`);
        client.resetAndDestroy();
        return;
      }
      const remote = s.connect({ host: to, port: spec.peerPort });
      join(client, remote, (err) => {
        if (err) log("debug", `redirect ${spec.text}: ${err.message}`);
      });
    });
    await listen(server, spec);
    return { close: () => server.close() };
  }
  const sock = dgram.createSocket("udp4");
  const flows = new Map<string, LinkUdpSocket>();
  sock.on("message", (msg, rinfo) => {
    const s = stack();
    const to = peer();
    if (!s || !to) return;
    const key = `${rinfo.address}:${rinfo.port}`;
    let flow = flows.get(key);
    if (!flow) {
      flow = s.udpSocket();
      flow.on("message", (reply: Buffer) => sock.send(reply, rinfo.port, rinfo.address));
      flows.set(key, flow);
    }
    flow.send(msg, spec.peerPort, to);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(spec.hostPort, spec.hostAddress, () => resolve());
  });
  return {
    close: () => {
      for (const f of flows.values()) f.close();
      sock.close();
    },
  };
}

function listen(server: net.Server, spec: RedirectSpec): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (err) => reject(new RedirectError(`redirect ${spec.text}: ${err.message}`)));
    server.listen(spec.hostPort, spec.hostAddress, () => resolve());
  });
}
