/**
 * The `rfw` program: commander wiring, global options, exit codes.
 */
import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_PREFIX, DEFAULT_SERVER, resolveTarget, type Target } from './config.js';
import type { Action, CommandContext, RunIo } from './context.js';
import { classify, ExitCode } from './errors.js';
import { Output } from './output.js';
import { Session } from './session.js';
import { registerJobs } from './commands/jobs.js';
import { registerDlq } from './commands/dlq.js';
import { registerAdmin } from './commands/admin.js';
import { registerNodes } from './commands/nodes.js';
import { registerTail } from './commands/tail.js';
import { registerSearch } from './commands/search.js';
import { registerSweeps } from './commands/sweep.js';
import { registerSchedules } from './commands/schedules.js';
import { registerFlows } from './commands/flows.js';
import { unknownCommandIn } from './unknown-command.js';

/** The CLI's version, printed by `rfw --version`. */
export const VERSION = '0.1.0';

interface GlobalOpts {
  server?: string;
  prefix?: string;
  json?: boolean;
}

/** Registers a leaf command's action and shared options. */
export interface Registrar {
  /**
   * Add `--server`, `--json` and (unless `prefix: false`, for commands whose
   * own `--prefix` is an object-key prefix) `--prefix` to `cmd`, and run `fn`.
   */
  leaf<O>(cmd: Command, fn: Action<O>, opts?: LeafOptions): Command;
}

export interface LeafOptions {
  /** Offer `--prefix` as the installation prefix. @default true */
  prefix?: boolean;
  /**
   * The action watches `ctx.signal` and ends on its own after Ctrl-C; other
   * actions are cut short with exit code 130. @default false
   */
  handlesSignal?: boolean;
}

function commonOptions(prefix: boolean): Option[] {
  const out = [
    new Option('-s, --server <url>', 'NATS URL(s), comma-separated').helpGroup('Connection:'),
    new Option('--json', 'print JSON instead of tables').helpGroup('Connection:'),
  ];
  if (prefix) {
    out.splice(
      1,
      0,
      new Option('--prefix <name>', 'names prefix of the installation').helpGroup('Connection:'),
    );
  }
  return out;
}

/**
 * Run the CLI with `argv` (the arguments after the program name). Resolves
 * with the exit code: 0 ok, 1 operation failed, 2 usage error, 3 NATS
 * unreachable. Never calls `process.exit`.
 */
export async function run(argv: string[], partialIo: Partial<RunIo> = {}): Promise<number> {
  const io: RunIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    ...partialIo,
  };
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  const interrupted = new Promise<number>((resolve) =>
    controller.signal.addEventListener('abort', () => resolve(ExitCode.Interrupted), {
      once: true,
    }),
  );
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let exitCode: number = ExitCode.Ok;
  let session: Session | undefined;
  let json = argv.includes('--json');
  const program = new Command('rfw');

  const makeContext = (cmd: Command, allowsPrefix: boolean): CommandContext => {
    const g = program.opts<GlobalOpts>();
    const l = cmd.opts<GlobalOpts>();
    json = Boolean(l.json ?? g.json);
    const out = new Output(json, io);
    let target: Target | undefined;
    const getTarget = (): Target =>
      (target ??= resolveTarget({
        server: l.server ?? g.server,
        prefix: allowsPrefix ? (l.prefix ?? g.prefix) : g.prefix,
        env: io.env,
        cwd: io.cwd,
      }));
    return {
      out,
      io,
      signal: controller.signal,
      target: getTarget,
      session: () => (session ??= new Session(getTarget())),
    };
  };

  const registrar: Registrar = {
    leaf(cmd, fn, { prefix = true, handlesSignal = false } = {}) {
      for (const o of commonOptions(prefix)) cmd.addOption(o);
      cmd.action(async (...params: unknown[]) => {
        const self = params[params.length - 1] as Command;
        const ctx = makeContext(self, prefix);
        const work = fn(ctx, self.opts() as never, self.args);
        const code = handlesSignal ? await work : await Promise.race([work, interrupted]);
        exitCode = code ?? ExitCode.Ok;
      });
      return cmd;
    },
  };

  program
    .description('Operate rustfs-workers: jobs, dead letters, nodes, live events, healing.')
    .version(VERSION, '-V, --version')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) =>
        write(
          json
            ? `${JSON.stringify({ error: { message: s.replace(/^error: /, '').trim(), exitCode: ExitCode.Usage } })}\n`
            : s,
        ),
    })
    .showHelpAfterError(json ? false : '(add --help for usage)')
    .configureHelp({ sortSubcommands: false })
    .addHelpText(
      'after',
      `
Connection: --server, else NATS_URL, else natsUrl in <repo>/.data/runtime.json
(written by npm start; RFW_RUNTIME_FILE overrides the path), else ${DEFAULT_SERVER}.
Prefix: --prefix, else RFW_PREFIX, else the runtime file's prefix, else ${DEFAULT_PREFIX}.
Exit codes: 0 ok, 1 operation failed, 2 bad arguments, 3 NATS unreachable,
130 interrupted. Docs: docs/cli.md`,
    );
  for (const o of commonOptions(true)) program.addOption(o);

  registerJobs(program, registrar);
  registerDlq(program, registrar);
  registerFlows(program, registrar);
  registerSchedules(program, registrar);
  registerAdmin(program, registrar);
  registerNodes(program, registrar);
  registerTail(program, registrar);
  registerSearch(program, registrar);
  registerSweeps(program, registrar);

  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return ExitCode.Usage;
    }
    const unknown = unknownCommandIn(program, argv);
    if (unknown !== undefined) {
      io.stderr.write(
        json
          ? `${JSON.stringify({ error: { message: `unknown command '${unknown}'`, exitCode: ExitCode.Usage } })}\n`
          : `error: unknown command '${unknown}'\n(add --help for usage)\n`,
      );
      return ExitCode.Usage;
    }
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed its message (naming the flag) already.
      exitCode = err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    } else {
      const c = classify(err);
      exitCode = c.code;
      if (json) {
        io.stderr.write(
          `${JSON.stringify({ error: { message: c.message, exitCode: c.code, field: c.field } })}\n`,
        );
      } else {
        io.stderr.write(`error: ${c.message}\n`);
      }
      if (io.env.RFW_DEBUG && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await session?.close().catch(() => undefined);
  }
  return exitCode;
}
