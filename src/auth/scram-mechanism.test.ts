import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deriveScramCredentials } from "./scram-credentials.js";
import { scramMechanism } from "./scram-mechanism.js";
import { ScramTestClient, type ScramTestClientOptions } from "./scram-test-client.js";
import type {
  AccountProvider,
  ChannelBindingType,
  SaslContext,
  SaslExchange,
  SaslStep,
  ScramCredentials,
  ScramHash,
} from "./types.js";

const ITERATIONS = 64; // low: these tests exercise the protocol, not the key stretching

/** An AccountProvider stub holding SCRAM credentials in a Map (the mechanism only calls scramCredentials). */
async function stubProvider(users: Record<string, string>): Promise<AccountProvider> {
  const creds = new Map<string, ScramCredentials>();
  for (const [user, password] of Object.entries(users)) {
    for (const hash of ["SHA-1", "SHA-256"] as const) {
      creds.set(`${hash}/${user}`, await deriveScramCredentials(password, hash, ITERATIONS));
    }
  }
  const unused = () => Promise.reject(new Error("not used by SCRAM"));
  return {
    credentialKind: () => "scram",
    scramCredentials: async (host, user, hash) => (host === "example.com" ? creds.get(`${hash}/${user}`) : undefined),
    verifyPassword: unused,
    userExists: unused,
    createUser: unused,
    setPassword: unused,
    deleteUser: unused,
    listUsers: unused,
    setDisabled: unused,
    isDisabled: unused,
    forgetUser: () => {},
  };
}

const EXPORTER = Buffer.from("exporter-keying-material-32-byte");
const ENDPOINT = Buffer.from("certificate-hash");

function context(channelBindings: ChannelBindingType[] = []): SaslContext {
  return {
    host: "example.com",
    secure: true,
    remoteAddress: "192.0.2.1",
    channelBindings,
    channelBinding: (type) =>
      channelBindings.includes(type) ? (type === "tls-exporter" ? EXPORTER : ENDPOINT) : undefined,
  };
}

const provider = await stubProvider({ juliet: "r0m30myr0m30", "odd,na=me": "pw" });

function challengeData(step: SaslStep): Buffer {
  assert.equal(step.kind, "challenge", `expected a challenge, got ${JSON.stringify(step)}`);
  return (step as { data: Buffer }).data;
}

/** Runs a whole exchange with the test client; returns every step the server took and the client. */
async function run(
  hash: ScramHash,
  plus: boolean,
  ctx: SaslContext,
  client: Partial<ScramTestClientOptions>,
  finalOverride: { cbData?: Buffer; nonce?: string } = {},
): Promise<{ first: SaslStep; final: SaslStep | undefined; client: ScramTestClient }> {
  const c = new ScramTestClient(hash, {
    username: "juliet",
    password: "r0m30myr0m30",
    clientNonce: "clientNONCE123",
    ...client,
  });
  const exchange = scramMechanism(hash, plus, provider).start(ctx);
  const first = await exchange.step(c.clientFirst());
  if (first.kind !== "challenge") return { first, final: undefined, client: c };
  const final = await exchange.step(await c.clientFinal(first.data, finalOverride));
  return { first, final, client: c };
}

function assertSuccess(result: Awaited<ReturnType<typeof run>>, username = "juliet"): void {
  assert.deepEqual(result.final, {
    kind: "success",
    username,
    data: Buffer.from(result.client.expectedServerFinal()),
  });
}

describe("scramMechanism", () => {
  it("names the four mechanisms", () => {
    assert.equal(scramMechanism("SHA-1", false, provider).name, "SCRAM-SHA-1");
    assert.equal(scramMechanism("SHA-1", true, provider).name, "SCRAM-SHA-1-PLUS");
    assert.equal(scramMechanism("SHA-256", false, provider).name, "SCRAM-SHA-256");
    assert.equal(scramMechanism("SHA-256", true, provider).name, "SCRAM-SHA-256-PLUS");
  });

  it("offers -PLUS only when the connection can supply channel binding", () => {
    assert.equal(scramMechanism("SHA-256", true, provider).available(context()), false);
    assert.equal(scramMechanism("SHA-256", true, provider).available(context(["tls-exporter"])), true);
    assert.equal(scramMechanism("SHA-256", false, provider).available(context()), true);
  });

  for (const hash of ["SHA-1", "SHA-256"] as const) {
    describe(`SCRAM-${hash}`, () => {
      it("authenticates with the right password and proves the server knows the key (v=)", async () => {
        assertSuccess(await run(hash, false, context(), {}));
      });

      it("fails with not-authorized on a wrong password", async () => {
        const result = await run(hash, false, context(), { password: "wrong" });
        assert.deepEqual(result.final, { kind: "failure", condition: "not-authorized" });
      });

      it("sends an empty challenge when there is no initial response (RFC 6120 §6.4.2)", async () => {
        const c = new ScramTestClient(hash, { username: "juliet", password: "r0m30myr0m30", clientNonce: "abc" });
        const exchange = scramMechanism(hash, false, provider).start(context());
        assert.deepEqual(await exchange.step(undefined), { kind: "challenge", data: Buffer.alloc(0) });
        const serverFirst = challengeData(await exchange.step(c.clientFirst()));
        const final = await exchange.step(await c.clientFinal(serverFirst));
        assert.equal(final.kind, "success");
      });

      it(`SCRAM-${hash}-PLUS authenticates with matching tls-exporter and tls-server-end-point data`, async () => {
        const ctx = context(["tls-exporter", "tls-server-end-point"]);
        assertSuccess(await run(hash, true, ctx, { gs2Header: "p=tls-exporter,,", cbData: EXPORTER }));
        assertSuccess(await run(hash, true, ctx, { gs2Header: "p=tls-server-end-point,,", cbData: ENDPOINT }));
      });

      it(`SCRAM-${hash}-PLUS fails when the channel-binding data differ (MITM)`, async () => {
        const ctx = context(["tls-exporter"]);
        const result = await run(hash, true, ctx, {
          gs2Header: "p=tls-exporter,,",
          cbData: Buffer.from("attacker's own TLS session data"),
        });
        assert.deepEqual(result.final, {
          kind: "failure",
          condition: "not-authorized",
          text: "channel-bindings-dont-match",
        });
      });
    });
  }

  describe("channel-binding negotiation (RFC 5802 §6)", () => {
    it("fails 'y' on plain SCRAM when the server offers -PLUS on this connection (downgrade)", async () => {
      const result = await run("SHA-256", false, context(["tls-exporter"]), { gs2Header: "y,," });
      assert.deepEqual(result.first, {
        kind: "failure",
        condition: "not-authorized",
        text: "server-does-support-channel-binding",
      });
    });

    it("accepts 'y' when no channel binding is available, and binds the gs2-header in c=", async () => {
      assertSuccess(await run("SHA-256", false, context(), { gs2Header: "y,," }));
      const tampered = await run("SHA-256", false, context(), { gs2Header: "y,," }, { cbData: Buffer.from("x") });
      assert.equal(tampered.final?.kind, "failure");
    });

    it("accepts 'y' when the server disables -PLUS even though the TLS layer could bind", async () => {
      const c = new ScramTestClient("SHA-1", {
        username: "juliet",
        password: "r0m30myr0m30",
        clientNonce: "n1",
        gs2Header: "y,,",
      });
      const mechanism = scramMechanism("SHA-1", false, provider, { plusOffered: () => false });
      const exchange = mechanism.start(context(["tls-exporter"]));
      const serverFirst = challengeData(await exchange.step(c.clientFirst()));
      assert.equal((await exchange.step(await c.clientFinal(serverFirst))).kind, "success");
    });

    it("'client-shown': 'y' fails only after the client has used one of this connection's types on the stream", async () => {
      const ctx = { ...context(["tls-exporter", "tls-server-end-point"]), bindingsUsedByClient: new Set<ChannelBindingType>() };
      const y = async () => {
        const c = new ScramTestClient("SHA-256", { username: "juliet", password: "r0m30myr0m30", clientNonce: "n2", gs2Header: "y,," });
        const exchange = scramMechanism("SHA-256", false, provider, { downgradeCheck: "client-shown" }).start(ctx);
        const first = await exchange.step(c.clientFirst());
        return first.kind === "challenge" ? exchange.step(await c.clientFinal(first.data)) : first;
      };
      // A client that never bound here (its only type may be tls-unique, RFC 9266 §3) lost nothing: accepted.
      assert.equal((await y()).kind, "success");
      // A -PLUS attempt naming a type this connection lacks proves nothing.
      await scramMechanism("SHA-256", true, provider).start(ctx).step(Buffer.from("p=tls-unique,,n=juliet,r=a"));
      assert.equal((await y()).kind, "success");
      // One naming tls-exporter shows the client can bind here: a later 'y' means the offer was stripped.
      const plus = await scramMechanism("SHA-256", true, provider).start(ctx).step(Buffer.from("p=tls-exporter,,n=juliet,r=a"));
      assert.equal(plus.kind, "challenge");
      assert.deepEqual(await y(), { kind: "failure", condition: "not-authorized", text: "server-does-support-channel-binding" });
    });

    it("XEP-0474: server-first ends with h= over the advertised offer, covered by the proofs", async () => {
      const ctx: SaslContext = {
        ...context(["tls-exporter"]),
        advertised: { mechanisms: ["SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"], channelBindings: ["tls-exporter", "tls-server-end-point"] },
      };
      const result = await run("SHA-1", false, ctx, {});
      assert.match(challengeData(result.first).toString(), /^r=clientNONCE123[^,]+,s=[^,]+,i=64,h=G6k\/rBLDqgOhRRaCuuatSDFkJ08=$/);
      assertSuccess(result);
      // A man in the middle changing h= (to match an offer it stripped) breaks the client's proof.
      const c = new ScramTestClient("SHA-1", { username: "juliet", password: "r0m30myr0m30", clientNonce: "n3" });
      const exchange = scramMechanism("SHA-1", false, provider).start(ctx);
      const serverFirst = challengeData(await exchange.step(c.clientFirst())).toString().replace(/h=.*$/, "h=AAAA");
      assert.deepEqual(await exchange.step(await c.clientFinal(Buffer.from(serverFirst))), {
        kind: "failure",
        condition: "not-authorized",
      });
    });

    it("fails 'p=' on a non-PLUS mechanism", async () => {
      const result = await run("SHA-256", false, context(["tls-exporter"]), {
        gs2Header: "p=tls-exporter,,",
        cbData: EXPORTER,
      });
      assert.equal(result.first.kind, "failure");
      assert.equal(result.first.kind === "failure" && result.first.condition, "malformed-request");
    });

    it("fails a -PLUS mechanism used without channel binding ('n' or 'y')", async () => {
      for (const gs2Header of ["n,,", "y,,"]) {
        const result = await run("SHA-256", true, context(["tls-exporter"]), { gs2Header });
        assert.equal(result.first.kind === "failure" && result.first.condition, "malformed-request");
      }
    });

    it("fails a binding type this connection does not supply, or that does not exist", async () => {
      const ctx = context(["tls-exporter"]);
      for (const gs2Header of ["p=tls-server-end-point,,", "p=tls-unique,,", "p=nonsense,,"]) {
        const result = await run("SHA-256", true, ctx, { gs2Header, cbData: ENDPOINT });
        assert.deepEqual(
          result.first,
          { kind: "failure", condition: "malformed-request", text: "unsupported-channel-binding-type" },
          gs2Header,
        );
      }
    });
  });

  describe("identities", () => {
    it("accepts an authzid equal to the user's own bare JID", async () => {
      assertSuccess(await run("SHA-256", false, context(), { gs2Header: "n,a=juliet@example.com," }));
      assertSuccess(await run("SHA-256", false, context(), { gs2Header: "n,a=Juliet@EXAMPLE.com," }));
    });

    it("refuses any other authzid with invalid-authzid", async () => {
      for (const authzid of ["romeo@example.com", "juliet@example.org", "juliet@example.com/balcony", "example.com"]) {
        const result = await run("SHA-256", false, context(), { gs2Header: `n,a=${authzid},` });
        assert.deepEqual(result.first, { kind: "failure", condition: "invalid-authzid" }, authzid);
      }
    });

    it("decodes =2C and =3D in the username (RFC 5802 §5.1)", async () => {
      const result = await run("SHA-1", false, context(), { username: "odd,na=me", password: "pw" });
      assertSuccess(result, "odd,na=me");
      assert.match(result.client.clientFirst().toString(), /n=odd=2Cna=3Dme,/);
    });

    it("case-maps the username (RFC 8265 UsernameCaseMapped) and reports the canonical form", async () => {
      assertSuccess(await run("SHA-256", false, context(), { username: "JULIET" }), "juliet");
    });

    it("refuses a username the PRECIS profile disallows with not-authorized", async () => {
      const result = await run("SHA-256", false, context(), { username: "jul iet" });
      assert.deepEqual(result.first, { kind: "failure", condition: "not-authorized", text: "invalid-username-encoding" });
    });
  });

  describe("unknown users", () => {
    it("look like real users until the proof, then fail exactly like a wrong password", async () => {
      const real = await run("SHA-256", false, context(), { password: "wrong" });
      const ghost = await run("SHA-256", false, context(), { username: "nobody", password: "wrong" });
      const ghostAgain = await run("SHA-256", false, context(), { username: "nobody", password: "other" });
      const shape = /^r=clientNONCE123[A-Za-z0-9+/]{24},s=[A-Za-z0-9+/]{22}==,i=(\d+)$/;
      const realFirst = challengeData(real.first).toString();
      const ghostFirst = challengeData(ghost.first).toString();
      assert.match(realFirst, shape);
      assert.match(ghostFirst, shape);
      // The salt of an unknown user is stable, as a stored one would be.
      const salt = (s: string) => s.split(",")[1];
      assert.equal(salt(ghostFirst), salt(challengeData(ghostAgain.first).toString()));
      assert.deepEqual(ghost.final, real.final);
      assert.deepEqual(ghost.final, { kind: "failure", condition: "not-authorized" });
    });

    it("uses the configured iteration count for stand-in credentials", async () => {
      const exchange = scramMechanism("SHA-1", false, provider, { unknownUserIterations: ITERATIONS }).start(context());
      const first = challengeData(await exchange.step(Buffer.from("n,,n=nobody,r=abc")));
      assert.match(first.toString(), new RegExp(`,i=${ITERATIONS}$`));
    });
  });

  describe("malformed input", () => {
    async function firstStep(message: Buffer | string): Promise<SaslStep> {
      return scramMechanism("SHA-256", false, provider).start(context()).step(Buffer.from(message));
    }

    const badClientFirst: Array<[string, Buffer | string]> = [
      ["invalid UTF-8", Buffer.from([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xff, 0x2c, 0x72, 0x3d, 0x61])],
      ["missing gs2-header", "n=juliet,r=abc"],
      ["unknown cbind flag", "x,,n=juliet,r=abc"],
      ["empty message", ""],
      ["bad escape in username", "n,,n=jul=41iet,r=abc"],
      ["empty username", "n,,n=,r=abc"],
      ["mandatory extension", "n,,m=ext,n=juliet,r=abc"],
      ["missing nonce", "n,,n=juliet"],
      ["empty nonce", "n,,n=juliet,r="],
      ["nonce with a control character", "n,,n=juliet,r=ab\u0001c"],
      ["attributes out of order", "n,,r=abc,n=juliet"],
      ["authzid without a=", "n,juliet@example.com,n=juliet,r=abc"],
      ["malformed extension", "n,,n=juliet,r=abc,zz"],
    ];
    for (const [label, message] of badClientFirst) {
      it(`fails client-first with ${label} as malformed-request`, async () => {
        const step = await firstStep(message);
        assert.equal(step.kind, "failure");
        assert.equal(step.kind === "failure" && step.condition, "malformed-request");
      });
    }

    it("accepts unknown optional extensions in client-first", async () => {
      const step = await firstStep("n,,n=juliet,r=abc,x=whatever=ok");
      assert.equal(step.kind, "challenge");
    });

    async function finalStep(mutate: (clientFinal: string) => string): Promise<SaslStep> {
      const c = new ScramTestClient("SHA-256", { username: "juliet", password: "r0m30myr0m30", clientNonce: "abc" });
      const exchange = scramMechanism("SHA-256", false, provider).start(context());
      const serverFirst = challengeData(await exchange.step(c.clientFirst()));
      const final = (await c.clientFinal(serverFirst)).toString();
      return exchange.step(Buffer.from(mutate(final)));
    }

    it("still succeeds when the client-final is left intact (control for the cases below)", async () => {
      assert.equal((await finalStep((m) => m)).kind, "success");
    });

    const badClientFinal: Array<[string, (m: string) => string]> = [
      ["a nonce that is not the combined nonce", (m) => m.replace(/r=abc/, "r=abd")],
      ["the client nonce alone", (m) => m.replace(/r=[^,]+/, "r=abc")],
      ["no proof", (m) => m.replace(/,p=.*$/, "")],
      ["proof not last", (m) => m.replace(/^(c=[^,]+),(r=[^,]+),(p=.+)$/, "$1,$3,$2")],
      ["proof that is not base64", (m) => m.replace(/p=.*$/, "p=!!!!")],
      ["proof of the wrong length", (m) => m.replace(/p=.*$/, "p=AAAA")],
      ["no channel-binding attribute", (m) => m.replace(/^c=[^,]+,/, "")],
      ["c= that is not canonical base64", (m) => m.replace(/^c=biws/, "c=biw")],
    ];
    for (const [label, mutate] of badClientFinal) {
      it(`fails client-final with ${label} as malformed-request`, async () => {
        const step = await finalStep(mutate);
        assert.equal(step.kind, "failure");
        assert.equal(step.kind === "failure" && step.condition, "malformed-request");
      });
    }

    it("fails a flipped proof bit with not-authorized", async () => {
      const step = await finalStep((m) => {
        const proof = Buffer.from(m.slice(m.indexOf(",p=") + 3), "base64");
        proof[0] = (proof[0] as number) ^ 1;
        return `${m.slice(0, m.indexOf(",p=") + 3)}${proof.toString("base64")}`;
      });
      assert.deepEqual(step, { kind: "failure", condition: "not-authorized" });
    });

    it("refuses to continue an exchange that has finished", async () => {
      const exchange: SaslExchange = scramMechanism("SHA-256", false, provider).start(context());
      await exchange.step(Buffer.from("garbage"));
      const again = await exchange.step(Buffer.from("n,,n=juliet,r=abc"));
      assert.equal(again.kind, "failure");
    });
  });

  it("answers temporary-auth-failure when the provider fails", async () => {
    const broken: AccountProvider = { ...provider, scramCredentials: () => Promise.reject(new Error("db down")) };
    const step = await scramMechanism("SHA-1", false, broken).start(context()).step(Buffer.from("n,,n=juliet,r=abc"));
    assert.deepEqual(step, { kind: "failure", condition: "temporary-auth-failure" });
  });
});
