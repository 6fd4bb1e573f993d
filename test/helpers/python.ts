/**
 * Test helper: the project's Python (the venv with pinned pyarrow) and real Python
 * processes started from it, such as the pyarrow Flight servers of the interop suites.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is test/helpers/python.ts). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The Python interpreter to use: `FLIGHT_RUNNER_PYTHON` (set by test/run-all.sh), else
 * the repository's `.venv`. Throws, naming the fix, when it does not exist: interop
 * tests must fail rather than pass vacuously on a machine without the venv.
 */
export function venvPython(): string {
  const python = process.env.FLIGHT_RUNNER_PYTHON ?? join(repoRoot, '.venv', 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error(
      `Python interpreter ${python} does not exist. Create the venv with `
      + '`python3 -m venv .venv && .venv/bin/pip install -r test/interop/python/requirements.txt` '
      + '(test/run-all.sh does this) or set FLIGHT_RUNNER_PYTHON.',
    );
  }
  return python;
}

/** A running Python process that announced where it listens. */
export interface PythonServer {
  /** The location from its listening line, e.g. `grpc://127.0.0.1:40123`. */
  location: string;
  process: ChildProcessWithoutNullStreams;
  /** Everything it wrote to stderr so far (for failure messages). */
  stderr(): string;
  /** SIGTERM, wait up to `timeoutMs` for it to exit (then SIGKILL); resolves with its exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
}

/**
 * Starts `python script args...` (script relative to the repository root) and waits
 * up to `timeoutMs` for a stdout line matching `listening` whose first group is the
 * location. The process is killed if it does not announce itself in time.
 */
export async function startPythonServer(
  script: string, options: { args?: string[]; listening: RegExp; timeoutMs?: number },
): Promise<PythonServer> {
  const python = venvPython();
  const child = spawn(python, [join(repoRoot, script), ...(options.args ?? [])], {
    cwd: repoRoot,
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => { stderr += chunk; });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));

  const stop = async (timeoutMs = 15_000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };

  const timeoutMs = options.timeoutMs ?? 30_000;
  const lines = createInterface({ input: child.stdout });
  try {
    const location = await new Promise<string>((found, fail) => {
      const timer = setTimeout(() => fail(new Error(`${script} printed no listening line within ${timeoutMs} ms`)), timeoutMs);
      lines.on('line', (line) => {
        const match = options.listening.exec(line);
        if (match) {
          clearTimeout(timer);
          found(match[1]!);
        }
      });
      child.once('error', (err) => { clearTimeout(timer); fail(err); });
      void exited.then((code) => { clearTimeout(timer); fail(new Error(`${script} exited with ${code} before listening`)); });
    });
    return { location, process: child, stderr: () => stderr, stop };
  } catch (err) {
    await stop(2_000);
    throw new Error(`${(err as Error).message}; stderr:\n${stderr}`);
  }
}
