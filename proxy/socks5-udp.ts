/**
 * SOCKS5 UDP ASSOCIATE relay (RFC 1928 §7), part of proxy/.
 *
 * One association = one host UDP socket (where the client sends its
 * RFC 1928 §7-wrapped datagrams) + one link UDP socket (`LinkNet.udp()`).
 * Client -> far side: the header is checked, FRAG != 0 is dropped (we do
 * not reassemble, as §7 allows), the destination is resolved at the far end
 * and the payload is sent over the link. Far side -> client: the payload is
 * wrapped with a header naming its source. Only datagrams from the client's
 * address (the control connection's peer, and the port it announced, if
 * any) are accepted. The association ends with the control connection.
 */
import dgram from "node:dgram";
import type { Socket } from "node:net";
import type { LinkNet } from "./link-net.js";
import type { Resolver } from "./dns-client.js";
import { resolveTarget } from "./dial.js";
import { encodeUdpDatagram, parseUdpHeader, type SocksAddress } from "./socks5-codec.js";
import { describeError, type Counters, type Logger } from "./log.js";
import { parseIp4 } from "../stack/util/addr.js";

/** "::ffff:127.0.0.1" -> "127.0.0.1" (a dual-stack listener reports mapped addresses). */
export function unmapHostAddress(a: string | undefined): string | undefined {
  return a?.startsWith("::ffff:") && parseIp4(a.slice(7)) !== undefined ? a.slice(7) : a;
}

export interface UdpAssociation {
  /** The host relay address/port for the reply's BND fields. */
  address: string;
  port: number;
  close(): void;
}

export async function startUdpAssociation(
  control: Socket,
  announced: { dst: SocksAddress; port: number },
  net: LinkNet,
  resolver: Resolver,
  stats: Counters,
  log: Logger,
): Promise<UdpAssociation> {
  const clientAddr = unmapHostAddress(control.remoteAddress);
  const bindAddr = unmapHostAddress(control.localAddress) ?? "127.0.0.1";
  const family = bindAddr.includes(":") ? "udp6" : "udp4";
  const relay = dgram.createSocket(family);
  await new Promise<void>((resolve, reject) => {
    relay.once("error", reject);
    relay.bind(0, bindAddr, () => {
      relay.off("error", reject);
      resolve();
    });
  });
  let link: ReturnType<LinkNet["udp"]>;
  try {
    link = net.udp(0);
  } catch (err) {
    relay.close();
    throw err;
  }
  /** Where replies go: the source port of the client's latest good datagram. */
  let clientPort: number | undefined = announced.port || undefined;
  const lockedPort = announced.port || undefined;
  let closed = false;

  relay.on("message", (msg, rinfo) => {
    if (unmapHostAddress(rinfo.address) !== clientAddr) {
      stats.add("udp drop: not from the client");
      return;
    }
    if (lockedPort !== undefined && rinfo.port !== lockedPort) {
      stats.add("udp drop: not from the announced port");
      return;
    }
    const h = parseUdpHeader(msg);
    if (h.kind === "bad") {
      stats.add(`udp drop: ${h.reason}`);
      log("debug", `socks udp: dropped datagram from ${rinfo.address}:${rinfo.port}: ${h.reason}`);
      return;
    }
    if (h.value.frag !== 0) {
      stats.add("udp drop: fragment (FRAG != 0)");
      return;
    }
    clientPort = rinfo.port;
    const data = h.value.data.slice(); // copy: the send happens after an await
    const { dst, port } = h.value;
    resolveTarget(dst.host, net, resolver).then(
      (ip) => {
        if (closed) return;
        link.send(data, port, ip);
        stats.add("udp datagrams to link");
      },
      (err) => {
        stats.add("udp drop: destination unresolved");
        log("info", `socks udp: ${dst.host}:${port}: ${describeError(err)}`);
      },
    );
  });
  link.on("message", (msg: Uint8Array, rinfo: { address: string; port: number }) => {
    if (closed || clientPort === undefined || clientAddr === undefined) {
      stats.add("udp drop: client address not known yet");
      return;
    }
    relay.send(encodeUdpDatagram(rinfo.address, rinfo.port, msg), clientPort, clientAddr);
    stats.add("udp datagrams to client");
  });
  relay.on("error", (err) => log("warn", `socks udp relay: ${describeError(err)}`));
  link.on("error", (err: Error) => log("warn", `socks udp link socket: ${describeError(err)}`));

  const addr = relay.address();
  return {
    address: addr.address,
    port: addr.port,
    close() {
      if (closed) return;
      closed = true;
      stats.add("udp associations closed");
      relay.close();
      link.close();
    },
  };
}
