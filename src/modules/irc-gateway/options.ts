// modules.irc-gateway options: the allow-list of IRC servers and the per-user and line limits.
import { z } from "zod";

const server = z
  .object({
    /** The IRC server's host name (as it appears in room addresses: #chan%<host>@irc.<host>). */
    host: z
      .string()
      .min(1)
      .transform((h) => h.toLowerCase()),
    port: z.number().int().min(1).max(65535).default(6697),
    /** TLS to the IRC server (node:tls). */
    tls: z.boolean().default(true),
    /** Verify the server's certificate (system CAs, host name). Turn off only for a server you trust by network. */
    tls_verify: z.boolean().default(true),
    /** PEM file of the CAs that sign this server's certificate, instead of the system's (a private network). */
    ca_file: z.string().optional(),
  })
  .strict();

export const ircGatewayOptions = z
  .object({
    /** The gateway's domain; "" = irc.<host>. */
    domain: z.string().default(""),
    /** IRC servers users may reach; every other server is refused. */
    servers: z.array(server).default([]),
    /** Who may use the gateway: "local" = users of this host; "everyone" = any JID (other servers' users too). */
    access: z.enum(["local", "everyone"]).default("local"),
    /** IRC servers one XMPP user may be connected to at once. */
    max_servers_per_user: z.number().int().min(1).default(3),
    /** Channels one XMPP user may be in, over all servers. */
    max_channels_per_user: z.number().int().min(1).default(30),
    /** IRC connections the whole gateway keeps open. */
    max_connections: z.number().int().min(1).default(200),
    /** Longest line accepted from an IRC server, in bytes (RFC 2812: 512; IRCv3 tags add up to 8191). */
    max_line_bytes: z.number().int().min(512).max(65536).default(8704),
    /** Members remembered per channel (a hostile server could send endless NAMES). */
    max_members_per_channel: z.number().int().min(1).default(10000),
    /** First reconnection delay after an IRC server drops us, in seconds; doubled each attempt. */
    reconnect_min_seconds: z.number().min(0.1).default(2),
    /** Longest delay between reconnection attempts, in seconds. */
    reconnect_max_seconds: z.number().min(1).default(300),
    /** Time to connect and register with an IRC server before giving up, in seconds. */
    connect_timeout_seconds: z.number().min(1).default(30),
    /** Seconds a join may wait for the IRC server (connection, registration, names) before remote-server-timeout. */
    join_timeout_seconds: z.number().min(1).default(60),
    /** Seconds of silence from an IRC server before a PING; twice that and the connection is dropped (and retried). */
    ping_interval_seconds: z.number().min(1).default(120),
    /** Bytes queued for an IRC server that does not read before messages to it are refused (remote-server-timeout). */
    max_queued_bytes: z.number().int().min(1024).default(1_048_576),
    /** The IRC "real name" (GECOS) the gateway gives for its users. */
    realname: z.string().max(100).default("Natter IRC gateway user"),
  })
  .strict();

export type IrcGatewayOptions = z.infer<typeof ircGatewayOptions>;
export type IrcServerOption = IrcGatewayOptions["servers"][number];
