import ipaddr from 'ipaddr.js';
import { memoize } from '../util/memoize.js';

/** Answers whether a client address lies in one of the networks allowed to relay without AUTH. */
export function relayNetworkCheck(cidrs: string[]): (address: string) => boolean {
  const ranges = cidrs.map((c) => ipaddr.parseCIDR(c));
  const check = (address: string) => {
    let ip: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      ip = ipaddr.process(address); // IPv4-mapped IPv6 (::ffff:127.0.0.1) becomes IPv4
    } catch {
      return false;
    }
    return ranges.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits));
  };
  // asked at every MAIL FROM, mostly by the same few clients (Postfix on loopback)
  return memoize(check);
}
