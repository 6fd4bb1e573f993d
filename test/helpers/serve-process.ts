/**
 * Test helper: runs `flight-runner <command> ... --port 0` as a real process, waits for
 * its "listening on" line, and stops it with SIGTERM (checking it exits 0).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Node arguments that run the `flight-runner` command from the sources (tsx), with the
 * `flight-runner-source` export condition, so a runner that imports 'flight-runner'
 * gets these same source modules: tests never run a stale dist/. (bin/flight-runner.js
 * runs dist/, as users do; test/package tests that.)
 */
export const CLI_ARGS = ['--conditions=flight-runner-source', '--import', import.meta.resolve('tsx'), join(ROOT, 'src/cli/main.ts')];

/** Writes a serve config (YAML lines) into a temporary directory removed at teardown; returns its path. */
export function writeServeConfig(t: { teardown(fn: () => void): void }, lines: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'flight-runner-serve-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'serve.yaml');
  writeFileSync(config, [...lines, ''].join('\n'));
  return config;
}

export interface ServerProcess {
  uri: string;
  process: ChildProcess;
  /** Everything written to stderr so far (JSON log lines). */
  stderr(): string;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `flight-runner ...args` (from the sources, see CLI_ARGS; `nodeArgs` go before them)
 * and waits (at most `timeoutMs`) for `flight-runner listening on <uri>`.
 *
 * @example
 * const server = await startServerProcess(['serve', 'examples/serve.yaml', '--port', '0']);
 */
export async function startServerProcess(args: string[], timeoutMs = 60_000, nodeArgs: string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...nodeArgs, ...CLI_ARGS, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const uri = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`server did not start in ${timeoutMs} ms:\n${stderr}`)); }, timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const match = /flight-runner listening on (\S+)/.exec(stdout);
      if (match) { clearTimeout(timer); resolve(match[1]!); }
    });
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`server exited (${code}) before listening:\n${stderr}`)); });
  });
  return {
    uri,
    process: child,
    stderr: () => stderr,
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Runs a command to completion; resolves with its exit code and output. */
export function run(command: string, args: string[], timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}
