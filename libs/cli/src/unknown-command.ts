/**
 * Commander shows the help of the nearest known command for
 * `rfw <unknown> --help` and exits 0, so a typo in a script looks like
 * success. This walks the command words the way commander would and names
 * the first one that is not a command.
 */
import type { Command } from 'commander';

/** The first word of `argv` that names no subcommand where one is expected, if any. */
export function unknownCommandIn(program: Command, argv: readonly string[]): string | undefined {
  let cmd = program;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') return undefined;
    if (word.startsWith('-')) {
      const opt = cmd.options.find((o) => o.long === word || o.short === word);
      // An option that takes a value consumes the next word (unless given as --opt=value).
      if (opt && (opt.required || opt.optional) && !word.includes('=')) i++;
      continue;
    }
    if (cmd.commands.length === 0) return undefined;
    const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) return word === 'help' ? undefined : word;
    cmd = sub;
  }
  return undefined;
}
