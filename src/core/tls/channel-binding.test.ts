import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect, createServer, type SecureVersion, type TLSSocket } from "node:tls";
import { createTestCa, issueCertificate } from "../../../test/helpers/test-ca.js";
import { CertificateStore } from "./certificates.js";
import {
  type ChannelBindingType,
  channelBindingData,
  channelBindingTypes,
  tlsServerEndPoint,
} from "./channel-binding.js";
import { ensureSelfSignedCertificate } from "./self-signed.js";

interface ServerView {
  types: ChannelBindingType[];
  exporter: Buffer | undefined;
  endPoint: Buffer | undefined;
  endPointFromSocket: Buffer | undefined;
}

interface ClientView {
  protocol: string | null;
  exporter: Buffer;
  peerCertificateDer: Buffer;
}

interface Handshake {
  server: ServerView;
  client: ClientView;
}

/** One real handshake over loopback; each end computes what it can, independently of the other. */
async function handshake(
  store: CertificateStore,
  servername: string,
  ca: string,
  maxVersion: SecureVersion,
): Promise<Handshake> {
  let resolveServer!: (view: ServerView) => void;
  const serverView = new Promise<ServerView>((resolve) => (resolveServer = resolve));
  const server = createServer(store.tlsServerOptions(), (socket) => {
    resolveServer({
      types: channelBindingTypes(socket),
      exporter: channelBindingData(socket, "tls-exporter", store.certificateDer(servername)),
      endPoint: channelBindingData(socket, "tls-server-end-point", store.certificateDer(servername)),
      endPointFromSocket: channelBindingData(socket, "tls-server-end-point"),
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const client = await new Promise<TLSSocket>((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, servername, ca, maxVersion }, () => resolve(socket));
    socket.on("error", reject);
  });
  const view = await serverView;
  const clientView: ClientView = {
    protocol: client.getProtocol(),
    exporter: client.exportKeyingMaterial(32, "EXPORTER-Channel-Binding", Buffer.alloc(0)),
    peerCertificateDer: client.getPeerCertificate().raw,
  };
  client.destroy();
  server.close();
  return { server: view, client: clientView };
}

describe("channel bindings", () => {
  const dir = mkdtempSync(join(tmpdir(), "natter-channel-binding-"));
  let store: CertificateStore;
  let caPem: string;
  before(async () => {
    store = await CertificateStore.fromConfig({
      hosts: ["localhost", "example.org"],
      data_dir: dir,
      tls: { certificates: [] },
    });
    caPem = readFileSync((await ensureSelfSignedCertificate(dir, ["localhost", "example.org"])).cert, "utf8");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("TLS 1.3: client and server compute the same tls-exporter (RFC 9266) and tls-server-end-point", async () => {
    const { server, client } = await handshake(store, "example.org", caPem, "TLSv1.3");
    assert.equal(client.protocol, "TLSv1.3");
    assert.deepEqual(server.types, ["tls-exporter", "tls-server-end-point"]);
    const clientExporter = client.exporter;
    assert.equal(server.exporter?.length, 32);
    assert.deepEqual(server.exporter, clientExporter);
    const clientEndPoint = tlsServerEndPoint(client.peerCertificateDer);
    assert.equal(clientEndPoint.length, 32); // ECDSA with SHA-256 → SHA-256
    assert.deepEqual(server.endPoint, clientEndPoint);
    assert.deepEqual(server.endPointFromSocket, clientEndPoint);
  });

  it("TLS 1.2: offers only tls-server-end-point, never tls-exporter (RFC 9266 §3, EMS unknown)", async () => {
    const { server, client } = await handshake(store, "localhost", caPem, "TLSv1.2");
    assert.equal(client.protocol, "TLSv1.2");
    assert.deepEqual(server.types, ["tls-server-end-point"]);
    assert.equal(server.exporter, undefined);
    assert.deepEqual(server.endPoint, tlsServerEndPoint(client.peerCertificateDer));
  });

  it("hashes with the certificate's signature hash (SHA-384 → 48 bytes)", async () => {
    const ca = await createTestCa();
    const issued = await issueCertificate(ca, ["strong.test"], { hash: "SHA-384" });
    writeFileSync(join(dir, "strong.crt"), issued.cert);
    writeFileSync(join(dir, "strong.key"), issued.key);
    const strong = CertificateStore.fromFiles([{ cert: join(dir, "strong.crt"), key: join(dir, "strong.key") }]);
    const { server, client } = await handshake(strong, "strong.test", ca.cert, "TLSv1.3");
    assert.equal(server.endPoint?.length, 48);
    assert.deepEqual(server.endPoint, tlsServerEndPoint(client.peerCertificateDer));
  });
});
