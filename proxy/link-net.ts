/**
 * What the proxies need from "the network at the far end of the link".
 * The client app implements it over our userspace stack (stack/node); tests
 * may implement it over the host's own sockets. The proxies never see PPP.
 */
import type { Duplex } from "node:stream";
import type { EventEmitter } from "node:events";

/** A TCP connection over the link. Behaves like net.Socket: 'connect', 'data', 'end', 'close', 'error' (err.code ECONNREFUSED, ECONNRESET, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH). end() sends FIN, destroy() sends RST. */
export interface LinkSocket extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  setNoDelay(noDelay?: boolean): this;
  setKeepAlive(enable?: boolean, initialDelay?: number): this;
}

/** A TCP listener on our link address. Emits 'connection' (LinkSocket), 'close', 'error'. */
export interface LinkServer extends EventEmitter {
  readonly port: number;
  close(): void;
}

/** A UDP socket over the link, shaped like dgram.Socket. Emits 'message' (msg: Buffer, rinfo: {address, port, family:'IPv4', size}). */
export interface LinkUdpSocket extends EventEmitter {
  readonly port: number;
  send(msg: Uint8Array, port: number, address: string): void;
  close(): void;
}

export interface PingResult {
  seq: number;
  /** Round-trip time in milliseconds. */
  rtt: number;
  ttl: number;
  bytes: number;
}

export interface LinkNet {
  /** Is the link up (IPCP Opened)? */
  readonly up: boolean;
  /** Our address on the link, e.g. "192.168.7.2". */
  readonly localAddress: string | undefined;
  /** The peer's address on the link (the far end's own host), e.g. "192.168.7.1". */
  readonly peerAddress: string | undefined;
  /** DNS servers pushed by the peer in IPCP (RFC 1877), or given by --dns. */
  readonly dnsServers: string[];
  /** Open a TCP connection to an IPv4 address over the link. */
  connect(host: string, port: number): LinkSocket;
  /** Listen on our link address (port 0 = ephemeral). */
  listen(port: number): LinkServer;
  /** A UDP socket bound on our link address (port 0 = ephemeral). */
  udp(port?: number): LinkUdpSocket;
  /** ICMP echo over the link. Rejects with code ETIMEDOUT / EHOSTUNREACH. */
  ping(host: string, opts: { seq: number; size?: number; timeoutMs?: number }): Promise<PingResult>;
  /** Wait until the link is up (resolves at once when it is); rejects with ENETDOWN when the link will not come back (no `persist`). */
  waitUp(): Promise<void>;
}
