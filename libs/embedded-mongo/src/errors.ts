/** MongoDB server error codes this server can answer with (names match the server's codeName). */
export const ErrorCode = {
  InternalError: 1,
  BadValue: 2,
  Unauthorized: 13,
  FailedToParse: 9,
  TypeMismatch: 14,
  PathNotViable: 28,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  ConflictingUpdateOperators: 40,
  CursorNotFound: 43,
  NamespaceExists: 48,
  NotSingleValueField: 54,
  EmptyFieldName: 56,
  CommandNotFound: 59,
  ImmutableField: 66,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  CommandNotSupported: 115,
  InvalidPipelineOperator: 168,
  BSONObjectTooLarge: 10334,
  DuplicateKey: 11000,
  UpdatedDocumentTooLarge: 17419,
  UpsertedDocumentTooLarge: 17420,
  UnrecognizedPipelineStage: 40324,
} as const;

const codeNames = new Map<number, string>(
  Object.entries(ErrorCode).map(([name, code]) => [code, name]),
);
// Codes MongoDB raises by number only are named after their location.
for (const code of [
  ErrorCode.UnrecognizedPipelineStage,
  ErrorCode.UpdatedDocumentTooLarge,
  ErrorCode.UpsertedDocumentTooLarge,
])
  codeNames.set(code, `Location${code}`);

export function codeNameOf(code: number): string {
  return codeNames.get(code) ?? `Location${code}`;
}

/** An error that travels back to the client as `{ ok: 0, code, codeName, errmsg, ...extra }`. */
export class MongoCommandError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'MongoCommandError';
  }

  toReply(): Record<string, unknown> {
    return {
      ok: 0,
      errmsg: this.message,
      code: this.code,
      codeName: codeNameOf(this.code),
      ...this.extra,
    };
  }
}

// mingo reports unsupported operators in plain English; map them to the codes the real server uses.
const mingoMessagePatterns: Array<[RegExp, (name: string) => MongoCommandError]> = [
  [
    /would modify the immutable field '(\w+)'/,
    (field) =>
      new MongoCommandError(
        ErrorCode.ImmutableField,
        `Performing an update on the path '${field}' would modify the immutable field '${field}'`,
      ),
  ],
  [
    /unregistered pipeline operator (\$\w+)/,
    (op) =>
      new MongoCommandError(
        ErrorCode.UnrecognizedPipelineStage,
        `Unrecognized pipeline stage name: '${op}'`,
      ),
  ],
  [
    /unknown (?:top level |query )?operator:? (\$\w+)/,
    (op) => new MongoCommandError(ErrorCode.BadValue, `unknown operator: ${op}`),
  ],
  [
    /Unknown update operator: '(\$\w+)'/,
    (op) =>
      new MongoCommandError(
        ErrorCode.FailedToParse,
        `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`,
      ),
  ],
  [
    /'(\$\w+)' is not registered/,
    (op) =>
      new MongoCommandError(ErrorCode.InvalidPipelineOperator, `Unrecognized expression '${op}'`),
  ],
  [
    /operator '?(\$\w+)'? is not registered/,
    (op) =>
      new MongoCommandError(ErrorCode.InvalidPipelineOperator, `Unrecognized expression '${op}'`),
  ],
];

/** Converts anything thrown while running a command into a MongoDB-style error. */
export function toCommandError(error: unknown): MongoCommandError {
  if (error instanceof MongoCommandError) return error;
  const message = error instanceof Error ? error.message : String(error);
  for (const [pattern, build] of mingoMessagePatterns) {
    const match = pattern.exec(message);
    if (match) return build(match[1]);
  }
  return new MongoCommandError(ErrorCode.BadValue, message);
}

export function namespaceNotFound(ns: string): MongoCommandError {
  return new MongoCommandError(ErrorCode.NamespaceNotFound, `ns does not exist: ${ns}`);
}
