// The cluster's one server secret, against the real Redis and a PostgreSQL database of its own.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { createClient } from "@redis/client";
import { createTestDatabase, type TestDatabase } from "../../test/helpers/postgres.js";
import { createPostgresDriver } from "../storage/postgres/index.js";
import type { StorageDriver } from "../storage/types.js";
import { clusterServerSecret } from "./shared-secret.js";

describe("cluster server secret", () => {
  let database: TestDatabase;
  let storage: StorageDriver;
  const redis = createClient({ url: "redis://127.0.0.1:6379", RESP: 2 });
  const prefix = `natter-test-${randomBytes(4).toString("hex")}:`;
  const bus = { key: (name: string) => `${prefix}${name}`, redis: (args: string[]) => redis.sendCommand(args) };

  before(async () => {
    database = await createTestDatabase();
    storage = await createPostgresDriver(database.url, { poolSize: 4 });
    await redis.connect();
  });
  after(async () => {
    await redis.sendCommand(["DEL", `${prefix}server-secret`]);
    await redis.quit();
    await storage?.close();
    await database?.drop();
  });

  test("nodes starting together with different data-directory secrets all get one, kept in storage", async () => {
    const candidates = [1, 2, 3].map(() => randomBytes(32));
    const secrets = await Promise.all(candidates.map((c) => clusterServerSecret(bus, storage, c)));
    assert.ok(
      secrets.every((s) => s.equals(secrets[0]!)),
      "one secret for every node",
    );
    assert.ok(
      candidates.some((c) => c.equals(secrets[0]!)),
      "one node's own secret, not a new one",
    );
    // Redis forgets everything (a restart without persistence): storage still has it, a new node's own is ignored.
    await redis.sendCommand(["DEL", `${prefix}server-secret`]);
    const later = await clusterServerSecret(bus, storage, randomBytes(32));
    assert.ok(later.equals(secrets[0]!));
  });
});
