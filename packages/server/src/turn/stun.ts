/**
 * A STUN binding request (RFC 5389) over UDP: how the server knows its coturn answers, and what a
 * client behind NAT would learn from it (its reflexive address).
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';

const MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const ATTR_MAPPED_ADDRESS = 0x0001;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;

/** The address the STUN server saw the request come from. */
export interface MappedAddress {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

/** A binding request with a random transaction id. */
export function bindingRequest(transactionID = randomBytes(12)): Buffer {
  const msg = Buffer.alloc(20);
  msg.writeUInt16BE(BINDING_REQUEST, 0);
  msg.writeUInt16BE(0, 2);
  msg.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionID.copy(msg, 8);
  return msg;
}

/**
 * The mapped address in a binding success response to `transactionID`, or undefined when `msg` is
 * not one (another message, a mangled one, an error response).
 */
export function parseBindingResponse(
  msg: Buffer,
  transactionID: Buffer,
): MappedAddress | undefined {
  if (msg.length < 20 || msg.readUInt16BE(0) !== BINDING_SUCCESS) return undefined;
  if (msg.readUInt32BE(4) !== MAGIC_COOKIE || !msg.subarray(8, 20).equals(transactionID)) {
    return undefined;
  }
  const end = Math.min(msg.length, 20 + msg.readUInt16BE(2));
  let plain: MappedAddress | undefined;
  for (let at = 20; at + 4 <= end;) {
    const type = msg.readUInt16BE(at);
    const length = msg.readUInt16BE(at + 2);
    const value = msg.subarray(at + 4, at + 4 + length);
    if (value.length < length) return undefined;
    if (type === ATTR_XOR_MAPPED_ADDRESS) {
      return readAddress(value, Buffer.concat([msg.subarray(4, 8), transactionID]));
    }
    if (type === ATTR_MAPPED_ADDRESS) plain = readAddress(value, undefined);
    // Attributes are padded to 4 bytes.
    at += 4 + Math.ceil(length / 4) * 4;
  }
  return plain;
}

function readAddress(value: Buffer, xorKey: Buffer | undefined): MappedAddress | undefined {
  if (value.length < 8) return undefined;
  const family = value[1];
  const size = family === 1 ? 4 : family === 2 ? 16 : 0;
  if (!size || value.length < 4 + size) return undefined;
  let port = value.readUInt16BE(2);
  const raw = Buffer.from(value.subarray(4, 4 + size));
  if (xorKey) {
    port ^= MAGIC_COOKIE >>> 16;
    for (let i = 0; i < size; i++) raw[i]! ^= xorKey[i]!;
  }
  if (size === 4) return { address: [...raw].join('.'), port, family: 'IPv4' };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(raw.readUInt16BE(i).toString(16));
  return { address: groups.join(':'), port, family: 'IPv6' };
}

/**
 * Sends a binding request to `host:port` over UDP and resolves with the mapped address, or
 * undefined when no valid answer came within `timeoutMs` (retransmitting every 250 ms meanwhile).
 */
export function stunBinding(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<MappedAddress | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    const tid = randomBytes(12);
    const request = bindingRequest(tid);
    let done = false;
    const finish = (result: MappedAddress | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(resend);
      socket.close();
      resolve(result);
    };
    const send = (): void => socket.send(request, port, host, () => {});
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    const resend = setInterval(send, 250);
    socket.on('message', (msg) => {
      const mapped = parseBindingResponse(msg, tid);
      if (mapped) finish(mapped);
    });
    // ICMP port unreachable while coturn is still starting shows up here: keep trying.
    socket.on('error', () => {});
    send();
  });
}
