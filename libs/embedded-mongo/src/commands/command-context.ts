import type { Document } from 'bson';
import type { CursorRegistry } from '../cursors/cursor-registry';
import type { OpCounters } from './op-counters';
import { ErrorCode, MongoCommandError } from '../errors';
import type { StorageEngine } from '../storage/storage-engine';

/** What a command handler may touch: the store, cursors and facts about the connection. */
export interface CommandContext {
  db: string;
  storage: StorageEngine;
  cursors: CursorRegistry;
  connectionId: number;
  clientAddress: string;
  serverPort: number;
  startedAt: number;
  opcounters: OpCounters;
}

/** A handler returns the reply body; the dispatcher adds `ok: 1`. */
export type CommandHandler = (command: Document, context: CommandContext) => Document;

/** The collection name a command targets (`{ find: "users" }`), validated as a string. */
export function collectionName(command: Document, commandName: string): string {
  const name = command[commandName];
  if (typeof name !== 'string' || name.length === 0) {
    throw new MongoCommandError(
      ErrorCode.InvalidNamespace,
      `collection name has invalid type ${typeof name}`,
    );
  }
  return name;
}

export function optionalDocument(value: unknown, field: string): Document | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new MongoCommandError(
      ErrorCode.TypeMismatch,
      `BSON field '${field}' is the wrong type '${Array.isArray(value) ? 'array' : typeof value}', expected type 'object'`,
    );
  }
  return value as Document;
}
