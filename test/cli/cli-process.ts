/**
 * Test helpers for the CLI: a real `flight-runner serve examples/serve.yaml --port 0`
 * process, and CLI commands run as processes. Every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FlightClient } from '../../src/flight/index.js';
import { CLI_ARGS } from '../helpers/serve-process.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** A running server process. */
export interface ServerProcess {
  uri: string;
  stop(): Promise<void>;
}

/** Waits for `child` to exit and its output to end, killing it after `ms`. */
function exited(child: ChildProcess, ms: number): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null && child.stdout?.closed !== false) return resolve(child.exitCode);
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Starts the example server on a free port and waits (bounded) until every runner is ready. */
export async function startExampleServer(timeoutMs = 120_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...CLI_ARGS, 'serve', 'examples/serve.yaml', '--port', '0'], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited(child, 15_000);
  };
  const uri = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms; stderr:\n${stderr}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const match = /flight-runner listening on (grpc:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}; stderr:\n${stderr}`));
    });
  }).catch(async (err) => {
    await stop();
    throw err;
  });
  // Runners load after the listening line: wait until health says ready.
  const client = await FlightClient.connect(uri);
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let health: { ready?: boolean } = {};
      for await (const r of client.doAction('health')) health = JSON.parse(new TextDecoder().decode(r)) as { ready?: boolean };
      if (health.ready) break;
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`runners not ready in ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    client.close();
  }
  return { uri, stop };
}

/** What a finished CLI process left behind. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `flight-runner <args>` to completion (killed after `timeoutMs`), with extra environment variables. */
export async function runCli(args: string[], timeoutMs = 150_000, env: Record<string, string> = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [...CLI_ARGS, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await exited(child, timeoutMs);
  return { code, stdout, stderr };
}
