// XEP-0363 HTTP File Upload, served by Natter's own HTTP listener: a service at upload.<host> hands local
// users slots (size, type and quota checked), they PUT the file, anyone with the URL GETs it; files live
// under <data_dir>/uploads/<host>/ and expire. Slots and files are recorded in the host's stores.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { StanzaError } from "../../core/errors.js";
import { tryParseJid } from "../../core/jid.js";
import { defineModule, type ModuleContext } from "../../core/modules.js";
import { serveServiceDomain, serviceIqDispatcher } from "../../core/service-domain.js";
import { NS_HTTP_UPLOAD } from "../../core/xml/ns.js";
import { buildServiceInfo, buildSlot, fileTooLarge, parseSlotRequest, quotaReached, typeAllowed } from "./codec.js";
import { uploadEndpoint } from "./http-endpoint.js";
import { newId, newToken, type UploadRecord, UploadStore } from "./upload-store.js";

const DAY_MS = 86_400_000;
/** Unused slots one user may hold at once (each reserves its size against the quota until it expires). */
const MAX_OPEN_SLOTS = 50;

const options = z
  .object({
    /** The service's domain; "" = upload.<host>. */
    domain: z.string().default(""),
    /** Largest file accepted, in bytes (announced in disco, XEP-0363 §3). */
    max_file_size: z
      .number()
      .int()
      .min(1)
      .default(100 * 1024 * 1024),
    /** Bytes each user may have stored at once, unused slots included; 0 = no quota. */
    quota_per_user: z
      .number()
      .int()
      .min(0)
      .default(1024 * 1024 * 1024),
    /** Files are deleted this many days after upload; 0 = kept until deleted by hand. */
    expire_after_days: z.number().min(0).default(30),
    /** Seconds a slot's PUT URL stays usable (XEP-0363 §7 recommends about 60). */
    slot_lifetime: z.number().min(1).max(86_400).default(300),
    /** Media types accepted ("image/png", "image/*"); [] = any. */
    allowed_content_types: z
      .array(
        z.string().regex(/^[a-z0-9!#$&^_.+-]+\/([a-z0-9!#$&^_.+-]+|\*)$/i, {
          error: 'expected a media type such as "image/png" or "image/*"',
        }),
      )
      .default([]),
  })
  .strict();

export default defineModule({
  name: "http-upload",
  specs: [{ xep: 363, version: "1.1.0", status: "complete", note: "served by Natter's HTTP listener" }],
  options,
  setup(ctx) {
    const { host, options: opts } = ctx;
    const domain = opts.domain === "" ? `upload.${host}` : (tryParseJid(opts.domain)?.domain ?? opts.domain);
    const expireMs = opts.expire_after_days * DAY_MS;
    const store = new UploadStore(ctx.store("http-upload", "map"), ctx.store("http-upload-ids", "map"));
    const root = join(ctx.dataDir, "uploads", host);
    const prefix = `/upload/${encodeURIComponent(host)}`;
    const uploading = new Set<string>();

    // The service's own IQ dispatcher: the core's conventions (RFC 6120 §8.2.3) for stanzas to `domain`.
    const owner = `${ctx.name}@${host}`;
    const iq = serviceIqDispatcher(ctx as ModuleContext<unknown>, domain, owner, () =>
      buildServiceInfo(opts.max_file_size, undefined),
    );

    // XEP-0363 §4: a slot request.
    iq.register(
      domain,
      "host",
      "get",
      NS_HTTP_UPLOAD,
      "request",
      async ({ payload, from }) => {
        // Only this host's own users store files here (§5: not-allowed for those who may not upload).
        if (from.domain !== host || from.local === "")
          throw new StanzaError("not-allowed", `only users of ${host} may upload files here`);
        const request = parseSlotRequest(payload);
        if (request.size > opts.max_file_size) throw fileTooLarge(opts.max_file_size);
        if (!typeAllowed(request.contentType ?? "application/octet-stream", opts.allowed_content_types)) {
          throw new StanzaError("not-acceptable", "files of this type are not accepted here");
        }
        const now = Date.now();
        const mine = [...(await store.ofOwner(from.local)).values()].filter((r) =>
          r.stored === null ? r.slotExpires > now : expireMs === 0 || r.stored + expireMs > now,
        );
        if (mine.filter((r) => r.stored === null).length >= MAX_OPEN_SLOTS) {
          throw quotaReached(
            "Too many unused upload slots; use or let some expire first",
            now + opts.slot_lifetime * 1000,
          );
        }
        if (opts.quota_per_user > 0) {
          const used = mine.reduce((sum, r) => sum + r.size, 0);
          if (used + request.size > opts.quota_per_user) {
            // §5: a temporary error, with the time the oldest file expires and frees space.
            const oldest = Math.min(...mine.filter((r) => r.stored !== null).map((r) => r.stored as number));
            const retryAt =
              expireMs > 0 && Number.isFinite(oldest) && request.size <= opts.quota_per_user
                ? oldest + expireMs
                : undefined;
            throw quotaReached(`Quota reached: ${used} of ${opts.quota_per_user} bytes in use`, retryAt);
          }
        }
        const id = newId();
        const { token, hash } = newToken();
        const record: UploadRecord = {
          name: request.filename,
          size: request.size,
          type: request.contentType ?? null,
          created: now,
          slotExpires: now + opts.slot_lifetime * 1000,
          stored: null,
          tokenHash: hash,
        };
        await store.add(from.local, id, record);
        // §4: keep the file name intact in the URL; the same URL serves PUT (with its token) and GET.
        const url = `${ctx.publicUrl}${prefix}/${id}/${encodeURIComponent(request.filename)}`;
        return buildSlot(url, url, { Authorization: `Bearer ${token}` });
      },
      owner,
    );

    // XEP-0030: the host lists the service.
    serveServiceDomain(ctx as ModuleContext<unknown>, host, domain, iq);

    // Removed when the module unloads (a reload that turns uploads off frees the prefix).
    ctx.http(prefix, uploadEndpoint({ store, root, expireMs, log: ctx.log, uploading }), {
      maxBodyBytes: opts.max_file_size,
    });

    // Expiry: unused slots after slot_lifetime, files after expire_after_days, leftovers of deleted accounts.
    const sweep = async () => {
      const now = Date.now();
      for (const [id, user] of await store.all()) {
        if (uploading.has(id)) continue;
        const found = await store.find(id);
        const r = found?.record;
        const expired = !r || (r.stored === null ? r.slotExpires < now : expireMs > 0 && r.stored + expireMs < now);
        if (!expired) continue;
        await rm(join(root, id), { recursive: true, force: true });
        await store.remove(user, id);
        if (r?.stored != null) ctx.log.info({ id, owner: user }, "uploaded file expired");
      }
    };
    const sweepEvery = expireMs === 0 ? 3_600_000 : Math.min(Math.max(expireMs / 4, 1000), 3_600_000);
    ctx.timer(sweepEvery, sweep);
    void sweep().catch((err: unknown) => ctx.log.error({ err }, "upload sweep failed"));
  },
});
