// API reports of the published packages' public entry points, made by
// @microsoft/api-extractor from the compiled .d.ts (run `npm run build` first;
// the root scripts api:check and api:update do).
//   node scripts/api-report.mjs          check: fail when api/<pkg>.api.md differs
//   node scripts/api-report.mjs --update rewrite api/<pkg>.api.md
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = fileURLToPath(new URL('..', import.meta.url));
const update = process.argv.includes('--update');
const packages = ['core', 'worker', 'cluster', 'testkit'];

let failed = 0;
for (const name of packages) {
  const folder = `${root}libs/${name}`;
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder: folder,
      mainEntryPointFilePath: '<projectFolder>/dist/index.d.ts',
      compiler: {
        overrideTsconfig: {
          compilerOptions: {
            target: 'ES2022',
            lib: ['ES2023'],
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            types: ['node'],
            skipLibCheck: true,
          },
          include: ['dist'],
        },
      },
      apiReport: {
        enabled: true,
        reportFileName: `${name}.api.md`,
        reportFolder: `${root}api/`,
        reportTempFolder: `${root}node_modules/.cache/api-extractor/`,
      },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        compilerMessageReporting: { default: { logLevel: 'warning' } },
        extractorMessageReporting: {
          default: { logLevel: 'warning' },
          // Names the public entry does not export (internal types seen
          // through a public one) are listed in the report, not fatal.
          'ae-forgotten-export': { logLevel: 'none', addToApiReportFile: true },
          'ae-missing-release-tag': { logLevel: 'none' },
          // Every public name needs TSDoc: an undocumented one fails the check.
          'ae-undocumented': { logLevel: 'error', addToApiReportFile: false },
        },
        tsdocMessageReporting: { default: { logLevel: 'none' } },
      },
    },
    configObjectFullPath: `${folder}/api-extractor.json`,
    packageJsonFullPath: `${folder}/package.json`,
  });
  const undocumented = [];
  const result = Extractor.invoke(config, {
    localBuild: update,
    showVerboseMessages: false,
    messageCallback: (m) => {
      if (m.messageId === 'ae-undocumented') {
        undocumented.push(
          `${(m.sourceFilePath ?? '?').replace(root, '')}:${m.sourceFileLine ?? '?'}: ${m.text}`,
        );
        m.handled = true;
      } else if (m.logLevel === 'warning' && m.category === 'Extractor') m.logLevel = 'none';
    },
  });
  if (undocumented.length > 0) {
    failed++;
    console.error(
      `@rfw/${name}: ${undocumented.length} public name(s) without TSDoc:\n  ${undocumented.join('\n  ')}`,
    );
  } else if (result.apiReportChanged && !update) {
    failed++;
    console.error(
      `api/${name}.api.md is out of date: the public API of @rfw/${name} changed.` +
        ' Run `npm run api:update` and commit the report so the change is reviewed.',
    );
  } else if (!result.succeeded) {
    failed++;
    console.error(`api-extractor failed for @rfw/${name}`);
  } else {
    console.log(
      `@rfw/${name}: ${update && result.apiReportChanged ? 'report updated' : 'API report up to date'}`,
    );
  }
}
process.exit(failed === 0 ? 0 : 1);
