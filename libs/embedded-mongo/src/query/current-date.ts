import { Timestamp, type Document } from 'bson';

/*
 * `$currentDate` as the `$set` of the current time it stands for: a Date (`true`, `false` or
 * `{ $type: 'date' }`) or a BSON Timestamp (`{ $type: 'timestamp' }`), which mingo stored as a
 * number of milliseconds. The `$set` then takes the simple path where it can.
 */

/** `modifier` with its `$currentDate` folded into `$set`; as given when it cannot be. */
export function withCurrentDates(modifier: Document): Document {
  const fields = modifier.$currentDate as unknown;
  if (fields === null || typeof fields !== 'object') return modifier;
  const set = (modifier.$set ?? {}) as Document;
  const values: Document = {};
  const now = new Date();
  for (const [path, spec] of Object.entries(fields as Document)) {
    const value = currentValue(spec, now);
    // An invalid spec, or a path $set names too (error 40), is left to the checks and mingo.
    if (value === undefined || Object.hasOwn(set, path)) return modifier;
    values[path] = value;
  }
  const { $currentDate: _folded, ...rest } = modifier;
  return { ...rest, $set: { ...set, ...values } };
}

function currentValue(spec: unknown, now: Date): Date | Timestamp | undefined {
  if (typeof spec === 'boolean') return new Date(now.getTime());
  if (spec === null || typeof spec !== 'object') return undefined;
  const keys = Object.keys(spec);
  if (keys.length !== 1 || keys[0] !== '$type') return undefined;
  const type = (spec as Document).$type as unknown;
  if (type === 'date') return new Date(now.getTime());
  if (type === 'timestamp') return nextTimestamp(now);
  return undefined;
}

let lastSeconds = 0;
let increment = 0;

/** A Timestamp of the current second, its increment counting the ones given within it. */
function nextTimestamp(now: Date): Timestamp {
  const seconds = Math.floor(now.getTime() / 1000);
  if (seconds > lastSeconds) {
    lastSeconds = seconds;
    increment = 0;
  }
  increment++;
  return new Timestamp({ t: lastSeconds, i: increment });
}
