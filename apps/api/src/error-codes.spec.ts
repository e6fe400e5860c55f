import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '../../..');
/** Where the codes the API answers are written: the app and the libs whose errors reach HTTP. */
const SOURCE_DIRS = ['apps/api/src', 'libs/common/src', 'libs/whatsapp/src'];
const REFERENCE = 'docs/errors.md';

/** Non-spec TypeScript files under `dir`, relative to the repository root. */
function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.spec.ts') ? [path] : [];
  });
}

const CODE_LITERAL = /'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)'/g;
/**
 * Where a code is handed to the error shape: the arguments of `super(…)`, `new …Error(…)`,
 * `new …Exception(…)` and the filter's `this.shape(…)`; `code: '…'` (an HttpException's body, a
 * relayed error, a parameter typed as a union of codes); `code = '…'` (libs/whatsapp's
 * `readonly code`, NotFoundError's default); `return '…'` (the filter's body-parser codes). DI
 * tokens (`Symbol('…')`) and config keys (`new AllowList(…, 'MEDIA_ALLOWED_HOSTS')`) are in none.
 */
const CALL = /\b(?:super|new \w+(?:Error|Exception)|this\.shape)\(/g;
const CODE_PROPERTY = /\bcode(?::| =) ('[A-Z][A-Z0-9_]*'(?: \| '[A-Z][A-Z0-9_]*')*)/g;
const RETURNED = /\breturn ('[A-Z][A-Z0-9_]*');/g;

/** The text between the parenthesis at `open` and the one closing it. */
function argumentsAt(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return text.slice(open + 1, i);
  }
  throw new Error(`unbalanced parentheses after offset ${open}`);
}

/** Every error code the sources can answer, with the files that hand it over. */
function codesInSources(): Map<string, string[]> {
  const codes = new Map<string, string[]>();
  for (const file of SOURCE_DIRS.flatMap(sourceFiles)) {
    const text = readFileSync(join(root, file), 'utf8');
    const places = [
      ...[...text.matchAll(CALL)].map((m) => argumentsAt(text, m.index + m[0].length - 1)),
      ...[...text.matchAll(CODE_PROPERTY)].map((m) => m[1]),
      ...[...text.matchAll(RETURNED)].map((m) => m[1]),
    ];
    for (const place of places)
      for (const [, code] of place.matchAll(CODE_LITERAL))
        codes.set(code, [...new Set([...(codes.get(code) ?? []), file])]);
  }
  return codes;
}

/** The codes of the reference's tables: rows that begin with a code and its HTTP status. */
function documentedCodes(): string[] {
  const text = readFileSync(join(root, REFERENCE), 'utf8');
  return [...text.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \| \d{3} \|/gm)].map((m) => m[1]);
}

describe(`the error code reference (${REFERENCE})`, () => {
  const inSources = codesInSources();
  const documented = documentedCodes();

  it('finds the codes of every way the sources hand one over, and no DI token or config key', () => {
    // One code per pattern: a constructor argument, a NotFoundError subclass's second argument,
    // `readonly code =`, `code:` in an HttpException body, the filter's shape() and return.
    for (const code of [
      'SESSION_LIMIT_REACHED',
      'MESSAGE_NOT_FOUND',
      'SESSION_NOT_FOUND',
      'ROLE_REQUIRED',
      'DATABASE_UNAVAILABLE',
      'BAD_REQUEST',
    ])
      expect(inSources.has(code), code).toBe(true);
    for (const notACode of ['WA_ENGINE_FACTORY', 'APP_CONFIG', 'JWT_SECRET', 'MEDIA_ALLOWED_HOSTS'])
      expect(inSources.has(notACode), notACode).toBe(false);
    expect(documented.length).toBeGreaterThan(0);
  });

  it('documents every code the sources can answer', () => {
    const missing = [...inSources]
      .filter(([code]) => !documented.includes(code))
      .map(([code, files]) => `${code} (${files.join(', ')})`);
    expect(missing).toEqual([]);
  });

  it('documents no code the sources no longer answer, each in one row', () => {
    expect(documented.filter((code) => !inSources.has(code))).toEqual([]);
    expect(documented.filter((code, i) => documented.indexOf(code) !== i)).toEqual([]);
  });
});
