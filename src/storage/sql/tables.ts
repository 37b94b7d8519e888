// Row types of the tables the SQL drivers share (created by ../migrations). Values are JSON text;
// `when` is milliseconds since the epoch in a bigint column (PostgreSQL needs pg's int8 parser set to Number).
import type { Generated } from "kysely";

export interface KeyvalTable {
  host: string;
  store: string;
  user: string;
  value: string;
}

export interface MapTable {
  host: string;
  store: string;
  user: string;
  key: string;
  value: string;
}

export interface ArchiveTable {
  /** Append order: breaks ties between items with the same `when`. Never shown to clients. */
  seq: Generated<number>;
  host: string;
  store: string;
  user: string;
  id: string;
  when: number;
  with: string;
  value: string;
}

export interface SchemaVersionTable {
  version: number;
  name: string;
  applied_at: number;
}

export interface StorageDatabase {
  keyval: KeyvalTable;
  map: MapTable;
  archive: ArchiveTable;
  schema_version: SchemaVersionTable;
}
