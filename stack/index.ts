/**
 * The public face of the userspace IPv4 stack (stack/): what src/app and
 * the proxies import. NodeStack is the whole stack behind one link hook;
 * the sans-I/O cores are exported for tests and simulations.
 */
export { NodeStack, StackUsageError } from "./node/node-stack.js";
export type { NodeStackOptions, TcpSocket, TcpServer, TcpForwardRequest, UdpForwardDatagram, IcmpEchoForward } from "./node/node-stack.js";
export { UdpSocket, UdpSocketError } from "./node/udp-socket.js";
export type { UdpRemoteInfo } from "./node/udp-socket.js";
export { PingError } from "./node/ping.js";
export type { PingOptions, PingReply } from "./node/ping.js";
export { IpLayer, DEFAULT_MTU, IPV4_MIN_MTU } from "./ip/ip-layer.js";
export type { IpLayerOptions, IpTransmit } from "./ip/ip-layer.js";
export { UdpLayer } from "./udp/udp-layer.js";
export { UnreachCode, IcmpType, TimeExceededCode } from "./wire/icmp.js";
export { IpProto } from "./wire/ipv4.js";
export type { Ip4 } from "./util/addr.js";
export { parseIp4, formatIp4 } from "./util/addr.js";
