import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createPostgresDriver } from "./driver.js";
import { redactPostgresUrl } from "./redact-url.js";

describe("redactPostgresUrl", () => {
  it("hides the password in the user part and in a password= parameter, and keeps the rest", () => {
    assert.equal(redactPostgresUrl("postgres://natter:s3cret@db:5432/natter"), "postgres://natter:***@db:5432/natter");
    assert.equal(
      redactPostgresUrl("postgresql://natter@db/natter?password=s3cret&sslmode=verify-full"),
      "postgresql://natter@db/natter?password=***&sslmode=verify-full",
    );
    assert.equal(redactPostgresUrl("postgres://db/natter"), "postgres://db/natter");
  });

  it("says nothing of a URL it cannot parse", () => {
    assert.equal(redactPostgresUrl("postgres://natter:s3cret@[bad"), "(an unparsable URL)");
  });

  it("keeps the password out of the driver's error for a malformed URL", async () => {
    await assert.rejects(createPostgresDriver("postgres://natter:s3cret%zz@127.0.0.1:1/natter"), (error: Error) => {
      assert.doesNotMatch(`${error.message}\n${error.stack}`, /s3cret/);
      return true;
    });
  });
});
