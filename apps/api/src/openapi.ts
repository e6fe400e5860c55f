import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { OpenAPIObject } from '@nestjs/swagger';
import { loadConfig } from '@app/common';
import { AppModule } from './app.module';
import { applyGlobalPrefix, buildOpenApiDocument } from './app.setup';

/** Top-level keys in the order the OpenAPI specification lists them; everything else is sorted. */
const TOP_LEVEL_ORDER = ['openapi', 'info', 'servers', 'tags', 'security', 'paths', 'components'];
/** Kept in declaration order: DTO fields read best as written; examples are data. */
const KEEP_ORDER = new Set(['properties', 'example', 'examples', 'default', 'enum']);

/**
 * The OpenAPI document of the gateway with the sandbox engine, so the sandbox control routes are
 * included. The app is built in Nest's preview mode: the module graph and routes are resolved but no
 * provider is instantiated, so nothing connects to a database or WhatsApp and nothing listens.
 */
export async function generateOpenApiDocument(): Promise<OpenAPIObject> {
  // The values only select the sandbox routes; in preview mode nothing reads DATA_DIR or the secret.
  const config = loadConfig({
    NODE_ENV: 'test',
    WHATSAPP_ENGINE: 'sandbox',
    LOG_LEVEL: 'silent',
    DATA_DIR: './openapi-preview-unused',
    JWT_SECRET: 'openapi-generation-only-never-used-for-tokens',
  });
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    preview: true,
    logger: false,
    abortOnError: false,
  });
  try {
    applyGlobalPrefix(app);
    return canonicalOpenApiDocument(buildOpenApiDocument(app));
  } finally {
    await app.close();
  }
}

/** A deep copy with a stable key order: diffs of openapi.json show only real changes. */
export function canonicalOpenApiDocument(document: OpenAPIObject): OpenAPIObject {
  const plain = JSON.parse(JSON.stringify(document)) as Record<string, unknown>;
  const ordered: Record<string, unknown> = {};
  const keys = Object.keys(plain).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const key of keys) ordered[key] = sortKeys(plain[key], key);
  return ordered as unknown as OpenAPIObject;
}

/** What `npm run openapi` writes: pretty-printed, trailing newline, no timestamps. */
export function serializeOpenApiDocument(document: OpenAPIObject): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

function rank(key: string): number {
  const index = TOP_LEVEL_ORDER.indexOf(key);
  return index === -1 ? TOP_LEVEL_ORDER.length : index;
}

function sortKeys(value: unknown, parentKey: string): unknown {
  if (Array.isArray(value)) return value.map((item) => sortKeys(item, ''));
  if (value === null || typeof value !== 'object') return value;
  if (
    parentKey === 'example' ||
    parentKey === 'examples' ||
    parentKey === 'default' ||
    parentKey === 'enum'
  )
    return value;
  const entries = Object.entries(value as Record<string, unknown>);
  if (!KEEP_ORDER.has(parentKey)) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([key, child]) => [key, sortKeys(child, key)]));
}

async function main(): Promise<void> {
  const target = resolve(process.argv[2] ?? 'openapi.json');
  const document = await generateOpenApiDocument();
  writeFileSync(target, serializeOpenApiDocument(document));
  const operations = Object.values(document.paths).reduce(
    (n, item) => n + Object.keys(item).length,
    0,
  );
  process.stdout.write(
    `Wrote ${target}: ${Object.keys(document.paths).length} paths, ${operations} operations\n`,
  );
}

// Under vitest (ESM) there is no `require`: only the compiled script runs main().
if (typeof require !== 'undefined' && require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`openapi: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
