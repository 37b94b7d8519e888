// A minimal SCRAM client (RFC 5802 §3) for the auth tests: it computes proofs independently of the server code
// path (its own parsing of server-first, its own AuthMessage) so a server bug cannot cancel itself out.
import { scramHmac, scramKeysFromSaltedPassword, scramSaltedPassword } from "./scram-credentials.js";
import type { ScramHash } from "./types.js";

export interface ScramTestClientOptions {
  username: string;
  password: string;
  clientNonce: string;
  /** gs2-header, e.g. "n,,", "y,,", "p=tls-exporter,,", "n,a=user@example.com,". */
  gs2Header?: string;
  /** Channel-binding data appended to the gs2-header in c= (only meaningful with "p=..."). */
  cbData?: Buffer;
}

export class ScramTestClient {
  private readonly gs2Header: string;
  private readonly bare: string;
  private serverKey: Buffer | undefined;
  private authMessage: string | undefined;

  constructor(
    private readonly hash: ScramHash,
    private readonly options: ScramTestClientOptions,
  ) {
    this.gs2Header = options.gs2Header ?? "n,,";
    const saslname = options.username.replace(/=/g, "=3D").replace(/,/g, "=2C");
    this.bare = `n=${saslname},r=${options.clientNonce}`;
  }

  clientFirst(): Buffer {
    return Buffer.from(this.gs2Header + this.bare, "utf8");
  }

  /** Builds client-final for a server-first message; `override` lets tests send a wrong c= or nonce. */
  async clientFinal(serverFirst: Buffer, override: { cbData?: Buffer; nonce?: string } = {}): Promise<Buffer> {
    const serverFirstText = serverFirst.toString("utf8");
    const attrs = new Map(serverFirstText.split(",").map((a) => [a.slice(0, 1), a.slice(2)] as const));
    const nonce = override.nonce ?? (attrs.get("r") as string);
    const salt = Buffer.from(attrs.get("s") as string, "base64");
    const iterations = Number(attrs.get("i"));
    const salted = await scramSaltedPassword(this.options.password, this.hash, iterations, salt);
    const { clientKey, storedKey, serverKey } = scramKeysFromSaltedPassword(this.hash, salted);
    const cbInput = Buffer.concat([Buffer.from(this.gs2Header, "utf8"), override.cbData ?? this.options.cbData ?? Buffer.alloc(0)]);
    const withoutProof = `c=${cbInput.toString("base64")},r=${nonce}`;
    const authMessage = `${this.bare},${serverFirstText},${withoutProof}`;
    const signature = scramHmac(this.hash, storedKey, authMessage);
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ (signature[i] as number)));
    this.serverKey = serverKey;
    this.authMessage = authMessage;
    return Buffer.from(`${withoutProof},p=${proof.toString("base64")}`, "utf8");
  }

  /** The server-final message this client expects (RFC 5802 §3 ServerSignature). */
  expectedServerFinal(): string {
    if (this.serverKey === undefined || this.authMessage === undefined) throw new Error("clientFinal() first");
    return `v=${scramHmac(this.hash, this.serverKey, this.authMessage).toString("base64")}`;
  }
}
