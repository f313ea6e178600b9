/**
 * IPv4 datagrams captured from the Linux kernel (6.x) on a TUN device in a
 * private network namespace (10.200.0.1 = the kernel, 10.200.0.2 = us), with
 * test/unit/stack-e2e/tun-relay.py. Hex exactly as read from the TUN.
 */
export const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));

/** The kernel's ICMP echo request (raw socket, id 0x4242 seq 7, data "ppproxy!"), DF set. */
export const KERNEL_ECHO_REQUEST = hex("45000024bd5c4000400167ea0ac800010ac80002 0800ec3942420007707070726f787921");

/** The kernel's echo reply to our request (id 0x1234 seq 1, data "ppproxy!"; our request had IP id 0x2222). */
export const KERNEL_ECHO_REPLY = hex("45000024bd6e00004001a7d80ac800010ac80002 0000244e12340001707070726f787921");

/** The kernel's port unreachable (TOS 0xc0) for our UDP 10.200.0.2:5555 -> 10.200.0.1:9 "ping" (IP id 0x1111). */
export const KERNEL_PORT_UNREACHABLE = hex(
  "45c0003cbd6d00004001a7010ac800010ac80002 030312ad00000000 45000020111100004011542a0ac800020ac80001 15b30009000cf5b670696e67",
);

/** The kernel's UDP 10.200.0.1:40000 -> 10.200.0.2:7777 "hello kernel", DF set. */
export const KERNEL_UDP = hex("450000287c6b40004011a8c70ac800010ac80002 9c401e610014a85f 68656c6c6f206b65726e656c");

/**
 * The kernel fragmenting UDP 10.200.0.1:40000 -> 10.200.0.2:7777 carrying
 * 3000 bytes of "x" at MTU 1500 (IP id 0x7c6c): three fragments, offsets 0,
 * 1480, 2960. The payload was all 0x78, so the headers are embedded and the
 * data is rebuilt.
 */
export function kernelFragments(): Uint8Array[] {
  const frag = (h: string, n: number) => {
    const head = hex(h);
    const p = new Uint8Array(head.length + n).fill(0x78);
    p.set(head);
    return p;
  };
  return [
    frag("450005dc7c6c20004011c3120ac800010ac80002 9c401e610bc03658", 1472),
    frag("450005dc7c6c20b94011c2590ac800010ac80002", 1480),
    frag("450000447c6c01724011e7380ac800010ac80002", 48),
  ];
}

export const KERNEL = 0x0ac80001;
export const US = 0x0ac80002;
