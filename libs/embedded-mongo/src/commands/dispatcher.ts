import type { Document } from 'bson';
import { ErrorCode, MongoCommandError, toCommandError } from '../errors';
import { adminCommands } from './admin-commands';
import { aggregateCommands } from './aggregate-command';
import type { CommandContext, CommandHandler } from './command-context';
import { handshakeCommands } from './handshake-commands';
import { readCommands } from './read-commands';
import { writeCommands } from './write-commands';

const handlers = new Map<string, CommandHandler>(
  Object.entries({
    ...handshakeCommands,
    ...readCommands,
    ...writeCommands,
    ...aggregateCommands,
    ...adminCommands,
  }),
);

/**
 * Runs one command and returns its reply, never throwing: failures become `{ ok: 0, code, ... }`.
 * Handlers are synchronous, so each command is atomic with respect to every other connection.
 */
export function runCommand(command: Document, context: CommandContext): Document {
  const name = Object.keys(command)[0];
  context.opcounters.request();
  try {
    const handler = handlers.get(name);
    if (!handler)
      throw new MongoCommandError(ErrorCode.CommandNotFound, `no such command: '${name}'`);
    rejectTransactions(command);
    context.opcounters.count(name, command);
    const reply = handler(command, context);
    // Reply only after the command's changes reached the journal (a no-op in memory-only mode).
    context.storage.commit();
    return { ...reply, ok: 1 };
  } catch (error) {
    commitQuietly(context);
    return toCommandError(error).toReply();
  }
}

/** A failed command may still have applied earlier statements; they are journaled too. */
function commitQuietly(context: CommandContext): void {
  try {
    context.storage.commit();
  } catch {
    // The command already failed; its own error is the one the client needs.
  }
}

/** A standalone mongod refuses transactions exactly like this; the driver sends them anyway. */
function rejectTransactions(command: Document): void {
  if (command.txnNumber !== undefined || command.startTransaction || command.autocommit === false) {
    throw new MongoCommandError(
      ErrorCode.IllegalOperation,
      'Transaction numbers are only allowed on a replica set member or mongos',
    );
  }
}
