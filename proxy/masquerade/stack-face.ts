/**
 * The part of the userspace stack (stack/node/node-stack.ts) that the
 * masquerade uses, stated structurally so this folder depends on the stack's
 * shape and not on its internals. The stack accepts traffic for ANY
 * destination and asks these hooks what to do with it (gVisor's forwarder
 * pattern); the masquerade answers with ordinary host sockets.
 */
import type { EventEmitter } from "node:events";
import type { LinkSocket } from "../link-net.js";

export type TcpRejectHow =
  | "rst"
  | "icmp-net-unreachable"
  | "icmp-host-unreachable"
  | "icmp-port-unreachable"
  | "icmp-admin-prohibited"
  | "silent";

export interface TcpForwardRequest {
  readonly src: string;
  readonly srcPort: number;
  readonly dst: string;
  readonly dstPort: number;
  /** Complete the peer's handshake (SYN-ACK) and return the socket. */
  accept(): LinkSocket;
  reject(how: TcpRejectHow): void;
}

export interface UdpForwardDatagram {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  payload: Buffer;
}

export interface IcmpEchoRequest {
  src: string;
  dst: string;
  id: number;
  seq: number;
  payload: Buffer;
  ttl: number;
}

export interface MasqueradeStack extends EventEmitter {
  readonly address: string | undefined;
  setTcpForwarder(fn: ((req: TcpForwardRequest) => void) | undefined, opts?: { maxInFlight?: number }): void;
  setUdpForwarder(fn: ((d: UdpForwardDatagram) => void) | undefined): void;
  sendUdp(from: { address: string; port: number }, to: { address: string; port: number }, payload: Uint8Array): void;
  setIcmpEchoForwarder(fn: ((e: IcmpEchoRequest) => void) | undefined): void;
  sendIcmpEchoReply(from: string, to: string, id: number, seq: number, payload: Uint8Array): void;
  sendIcmpUnreachable(from: string, code: number, original: Uint8Array): void;
  connect(opts: { host: string; port: number; timeoutMs?: number }): LinkSocket;
}
