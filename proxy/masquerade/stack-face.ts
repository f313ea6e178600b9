/**
 * The part of the userspace stack (stack/node/node-stack.ts) that the
 * masquerade uses. The stack accepts traffic for ANY destination and asks
 * these hooks what to do with it (gVisor's forwarder pattern); the masquerade
 * answers with ordinary host sockets. Tests may pass anything of this shape.
 */
import type { IcmpEchoForward, NodeStack, TcpForwardRequest, UdpForwardDatagram } from "../../stack/node/node-stack.js";

export type { TcpForwardRequest, UdpForwardDatagram };
export type IcmpEchoRequest = IcmpEchoForward;
export type TcpRejectHow = Parameters<TcpForwardRequest["reject"]>[0];

export type MasqueradeStack = Pick<
  NodeStack,
  | "address"
  | "setTcpForwarder"
  | "setUdpForwarder"
  | "sendUdp"
  | "setIcmpEchoForwarder"
  | "sendIcmpEchoReply"
  | "sendIcmpUnreachable"
  | "connect"
>;
