// --help, generated from the option table so that it cannot drift from what steward accepts.

import { OPTIONS, SECTION_TITLES, type OptionKey, type Section } from './options.ts';


export function helpText(): string {
  const lines = [
    'Usage: steward [options] [--] <command> [args...]',
    '',
    'Runs <command> as the container\'s app: forwards signals, reaps zombies, passes its exit status',
    'out, renders its configuration from confd template resources first and signals it on change.',
    'Options end at the first word that is not an option. Every option --some-name can also be',
    'set as the variable STEWARD_SOME_NAME; a flag wins over the variable.',
  ];
  for (const section of Object.keys(SECTION_TITLES) as Section[]) {
    lines.push('', `${SECTION_TITLES[section]}:`);
    for (const key of Object.keys(OPTIONS) as OptionKey[]) {
      const spec = OPTIONS[key];
      if (spec.section !== section) continue;
      const flag = spec.valueHint === undefined ? `--${spec.flag}` : `--${spec.flag} ${spec.valueHint}`;
      const vars = [spec.env, ...spec.aliases].join(', ');
      const dflt = spec.defaultText !== undefined && spec.valueHint !== undefined ? ` (default ${spec.defaultText})` : '';
      lines.push(`  ${flag}`, `      ${spec.help}${dflt}`, `      [${vars}]`);
    }
  }
  lines.push(
    '',
    'Client of a running steward, through its control socket (docs/operations.md):',
    '  steward --health | --status [--json] | --reload | --run-job NAME | --rollout-release | --maintenance on|off',
    '',
    'Exit status: the app\'s own, or 128+n when signal n killed it; 126/127 when the command cannot be',
    'run; 64 usage error; 69 a backend or condition unavailable; 78 invalid configuration.',
    'Documentation: README.md and docs/ in steward\'s source.',
  );
  return `${lines.join('\n')}\n`;
}
