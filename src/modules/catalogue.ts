// Every module Natter ships, by config name, and which are on when the config does not say.
import type { ModuleDefinition } from "../core/modules.js";
import adhoc from "./adhoc/index.js";
import adminCommands from "./admin-commands/index.js";
import announcements from "./announcements/index.js";
import antiSpam from "./anti-spam/index.js";
import avatarConversion from "./avatar-conversion/index.js";
import blocking from "./blocking/index.js";
import bookmarks from "./bookmarks/index.js";
import bytestreamProxy from "./bytestream-proxy/index.js";
import caps from "./caps/index.js";
import carbons from "./carbons/index.js";
import clientState from "./client-state/index.js";
import contactAddresses from "./contact-addresses/index.js";
import disco from "./disco/index.js";
import externalServices from "./external-services/index.js";
import httpUpload from "./http-upload/index.js";
import invites from "./invites/index.js";
import ircGateway from "./irc-gateway/index.js";
import lastActivity from "./last-activity/index.js";
import mam from "./mam/index.js";
import muc from "./muc/index.js";
import offlineMessages from "./offline-messages/index.js";
import pep from "./pep/index.js";
import pubsub from "./pubsub/index.js";
import ping from "./ping/index.js";
import presence from "./presence/index.js";
import privacy from "./privacy/index.js";
import privateStorage from "./private-storage/index.js";
import push from "./push/index.js";
import register from "./register/index.js";
import roster from "./roster/index.js";
import spamReporting from "./spam-reporting/index.js";
import time from "./time/index.js";
import userDirectory from "./user-directory/index.js";
import vcard from "./vcard/index.js";
import vcard4 from "./vcard4/index.js";
import version from "./version/index.js";

export const MODULE_CATALOGUE: ReadonlyMap<string, ModuleDefinition<never>> = new Map(
  (
    [
      disco,
      contactAddresses,
      adhoc,
      adminCommands,
      ping,
      version,
      time,
      announcements,
      offlineMessages,
      vcard,
      privateStorage,
      roster,
      presence,
      privacy,
      blocking,
      antiSpam,
      spamReporting,
      register,
      lastActivity,
      mam,
      carbons,
      clientState,
      externalServices,
      caps,
      pep,
      bookmarks,
      avatarConversion,
      vcard4,
      muc,
      httpUpload,
      push,
      userDirectory,
      invites,
      bytestreamProxy,
      ircGateway,
      pubsub,
    ] as ModuleDefinition<never>[]
  ).map((m) => [m.name, m]),
);

/** Loaded unless `modules: { name: false }`. Order matters: dependencies first. */
export const DEFAULT_MODULES: readonly string[] = [
  "disco",
  "contact-addresses",
  "ping",
  "version",
  "time",
  "vcard",
  "private-storage",
  "roster",
  "presence",
  "privacy",
  "blocking",
  "anti-spam",
  "spam-reporting",
  "offline-messages",
  "announcements",
  "register",
  "last-activity",
  "mam",
  "carbons",
  "client-state",
  "external-services",
  "caps",
  "pep",
  "bookmarks",
  "avatar-conversion",
  "vcard4",
  "muc",
  "http-upload",
  "push",
  "adhoc",
  "admin-commands",
];
