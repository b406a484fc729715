import { createRequire } from 'node:module';
import type * as ClientS3 from '@aws-sdk/client-s3';
import type * as LibStorage from '@aws-sdk/lib-storage';
import { preferCjsBuilds } from './prefer-cjs-builds.js';

/** The AWS SDK modules the S3 driver uses. */
export interface S3Sdk {
  s3: typeof ClientS3;
  storage: typeof LibStorage;
}

const requireCjs = createRequire(import.meta.url);
let cached: S3Sdk | undefined;

/**
 * Loads the AWS SDK lazily (file-only deployments never pay for it) through `require`, i.e.
 * its CommonJS build. Bundler-style resolvers that prefer the `module` field (such as this
 * repo's vitest config) would otherwise pick `dist-es`, whose extensionless imports plain
 * Node cannot load. Under such a runner (the `module` condition passed to Node, as vitest
 * does with this repo's root config) even `require` resolves to `dist-es`, so then
 * {@link preferCjsBuilds} is installed first.
 */
export function loadS3Sdk(): S3Sdk {
  if (!cached && hasModuleCondition([...process.execArgv, ...nodeOptions()])) preferCjsBuilds();
  cached ??= {
    s3: requireCjs('@aws-sdk/client-s3') as typeof ClientS3,
    storage: requireCjs('@aws-sdk/lib-storage') as typeof LibStorage,
  };
  return cached;
}

/** Whether Node was started with `--conditions module` (or `-C module`). */
export function hasModuleCondition(execArgv: readonly string[]): boolean {
  return execArgv.some(
    (arg, i) =>
      arg === '--conditions=module' ||
      arg === '-C=module' ||
      ((arg === '--conditions' || arg === '-C') && execArgv[i + 1] === 'module'),
  );
}

function nodeOptions(): string[] {
  return (process.env.NODE_OPTIONS ?? '').split(/\s+/).filter((a) => a !== '');
}
