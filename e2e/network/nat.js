// The nftables rules of a site router: its NAT kind, and the controls the tests turn on and off
// (UDP blackout, random loss). Plain JS so bench/network.mjs shares them.

/** The table holding the router's NAT (never changed after setup). */
export const NAT_TABLE = 'rlnat';
/** The table holding the controls; replaced as a whole by controlTable(). */
export const CONTROL_TABLE = 'rlctl';

/** Drop every forwarded UDP packet, both directions. */
export const UDP_BLOCK_RULES = ['meta l4proto udp drop'];

/**
 * Drop `percent` % of forwarded UDP packets at random, each direction independently (the media;
 * the signalling WebSocket is TCP and would only see retransmissions).
 * @param {number} percent
 * @returns {string[]}
 */
export function lossRules(percent) {
  return percent === 0 ? [] : [`meta l4proto udp numgen random mod 100 < ${percent} drop`];
}

/**
 * An nft script that (re)defines the router's NAT. `symmetric` gives every new flow a random public
 * port (`random,fully-random`), so the mapping differs per destination; `cone` keeps the source port
 * (plain `masquerade`), the same mapping for every destination, and conntrack lets in only replies
 * from the address and port the client sent to (port-restricted). Both drop unsolicited inbound
 * packets before conntrack confirms them: otherwise a peer's early check creates an inbound entry
 * that takes the port, the client's own outbound flow then gets another one, and hole punching
 * fails.
 * @param {import('./topology.js').NatKind} kind
 * @returns {string}
 */
export function natTable(kind) {
  if (kind === 'none') return '';
  const masquerade = kind === 'symmetric' ? 'masquerade random,fully-random' : 'masquerade';
  return `
table ip ${NAT_TABLE} {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" ${masquerade}
  }
  chain inbound {
    type filter hook prerouting priority mangle; policy accept;
    iifname "wan0" ct state new drop
  }
}
`;
}

/**
 * An nft script that replaces the control table with a forward chain holding `rules` (none = the
 * router forwards everything). One transaction: no moment without the table's previous rules.
 * @param {string[]} rules
 * @returns {string}
 */
export function controlTable(rules) {
  return `
table inet ${CONTROL_TABLE}
delete table inet ${CONTROL_TABLE}
table inet ${CONTROL_TABLE} {
  chain forward {
    type filter hook forward priority filter; policy accept;
${rules.map((r) => `    ${r}`).join('\n')}
  }
}
`;
}
