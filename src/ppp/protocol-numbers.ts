/**
 * PPP protocol field values (RFC 1661 §2, IANA "PPP DLL Protocol Numbers")
 * and the names pppd prints for them. Shared by the framing, the session's
 * demultiplexer and the debug printer.
 */

export const PPP_IP = 0x0021;
export const PPP_IPCP = 0x8021;
export const PPP_LCP = 0xc021;
export const PPP_PAP = 0xc023;
export const PPP_CHAP = 0xc223;
export const PPP_CCP = 0x80fd;
export const PPP_IPV6CP = 0x8057;
export const PPP_IPXCP = 0x802b;
export const PPP_NBFCP = 0x803f;
export const PPP_CBCP = 0xc029;

/** Protocols we run, by the short name pppd's debug printer uses. */
export const PROTOCOL_NAMES: ReadonlyMap<number, string> = new Map([
  [PPP_LCP, "LCP"],
  [PPP_PAP, "PAP"],
  [PPP_CHAP, "CHAP"],
  [PPP_IPCP, "IPCP"],
]);

/** pppd's long names (main.c protocol_list), for "Unsupported protocol '%s' (0x%x) received". */
export const PROTOCOL_LONG_NAMES: ReadonlyMap<number, string> = new Map([
  [PPP_IPXCP, "Novell IPX Control Protocol"],
  [PPP_NBFCP, "NetBIOS Framing Control Protocol"],
  [PPP_IPV6CP, "IPv6 Control Protocol"],
  [PPP_CCP, "Compression Control Protocol"],
  [PPP_CBCP, "Callback Control Protocol"],
  [0x0057, "IPv6"],
  [0x002b, "Novell IPX"],
  [0x002d, "VJ compressed TCP/IP"],
  [0x002f, "VJ uncompressed TCP/IP"],
  [0x00fd, "Compressed datagram"],
]);
