// The module's options: types, defaults and what each bounds (docs/config.md, `bytestream-proxy` module).
import { z } from "zod";
import type { ProxyLimits } from "./socks5-listener.js";

const port = z.number().int().min(0).max(65535);
export const options = z
  .object({
    /** The host whose instance runs the proxy; "" = the first of `hosts`. */
    host: z.string().default(""),
    /** The service's domain; "" = proxy.<host>. */
    domain: z.string().default(""),
    /** TCP port of the SOCKS5 listener (7777 is the customary one for XEP-0065 proxies). */
    port: port.default(7777),
    /** Addresses to listen on; [] = all interfaces. */
    bind: z.array(z.string().min(1)).default([]),
    /** Host name or address clients connect to (the <streamhost/> host); "" = the host's name. */
    public_host: z.string().default(""),
    /** Port clients connect to (behind a port forward); 0 = the listening port. */
    public_port: port.default(0),
    /** Who may use the proxy: "local" = accounts of this server's hosts; "everyone" = any JID. */
    access: z.enum(["local", "everyone"]).default("local"),
    /** Connections not yet activated, from everyone together. */
    max_pending: z.number().int().min(1).default(200),
    /** Connections not yet activated from one IP address. */
    max_pending_per_address: z.number().int().min(1).default(10),
    /** Seconds a connection has to complete the SOCKS5 greeting and CONNECT. */
    handshake_timeout: z.number().min(0.1).max(60).default(5),
    /** Seconds a connection waits for its partner and the activation. */
    pending_timeout: z.number().min(1).max(3600).default(60),
    /** Seconds an activated stream may go without a byte either way. */
    idle_timeout: z.number().min(1).default(300),
    /** Activated streams at once, all users together. */
    max_streams: z.number().int().min(1).default(100),
    /** Activated streams one requester (bare JID) may have at once. */
    max_streams_per_user: z.number().int().min(1).default(5),
    /** Bytes a second one requester's streams may relay together; 0 = no cap. */
    bandwidth_per_user: z
      .number()
      .int()
      .min(0)
      .default(1024 * 1024),
    /** Most bytes one stream may relay (both ways together); 0 = no cap. */
    max_stream_bytes: z.number().int().min(0).default(0),
  })
  .strict();

export type Options = z.infer<typeof options>;

/** The listener's limits, in the units it counts in. */
export function limitsOf(o: Options): ProxyLimits {
  return {
    maxPending: o.max_pending,
    maxPendingPerAddress: o.max_pending_per_address,
    handshakeMs: o.handshake_timeout * 1000,
    pendingMs: o.pending_timeout * 1000,
    idleMs: o.idle_timeout * 1000,
    maxStreams: o.max_streams,
    maxStreamsPerUser: o.max_streams_per_user,
    bandwidthPerUser: o.bandwidth_per_user,
    maxStreamBytes: o.max_stream_bytes,
  };
}
