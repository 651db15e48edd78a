// `npm test`: every test file under test/, on the project's Node 24, several files at a time
// (most tests wait on processes, not on the CPU). Tests that need etcd skip with a loud notice
// when it is not installed, except under CI=true, where a missing etcd fails the run.

import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const etcd = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
if (etcd.status !== 0) {
  const notice = 'etcd is not installed (Debian: apt-get install -y etcd-server): the etcd integration tests will be SKIPPED';
  if (process.env['CI'] === 'true') {
    process.stderr.write(`\nFAIL: ${notice.replace('will be SKIPPED', 'cannot run')}, and CI=true requires them.\n\n`);
    process.exit(1);
  }
  process.stderr.write(`\n${'!'.repeat(100)}\n!! ${notice}\n${'!'.repeat(100)}\n\n`);
}

// A folder stands for the test files under it (`node test/run.ts test/health/ test/http/`).
const files = process.argv.slice(2).map((arg) => (existsSync(arg) && statSync(arg).isDirectory() ? `${arg.replace(/\/+$/, '')}/**/*.test.ts` : arg));
const args = [
  '--test',
  '--test-concurrency=4',
  `--test-reporter=${process.env['STEWARD_TEST_REPORTER'] ?? 'spec'}`,
  ...(files.length > 0 ? files : ['test/**/*.test.ts']),
];
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
