/**
 * Registering the service with a Restate server's admin API (what `restate deployments
 * register` does), so tests and scripts need no CLI.
 */
import { FanfoldError } from '../errors.ts';

/**
 * Registers (or, with `force`, re-registers) a service endpoint with a Restate server.
 *
 * @example
 * await registerDeployment('http://127.0.0.1:9070', 'http://127.0.0.1:9080');
 */
export async function registerDeployment(adminUrl: string, serviceUrl: string, options: { force?: boolean } = {}): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`${adminUrl.replace(/\/+$/, '')}/deployments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uri: serviceUrl, force: options.force ?? true }),
    });
  } catch (error) {
    throw new FanfoldError('restate', `cannot reach the Restate admin API at ${adminUrl}: ${(error as Error).message}`, { cause: error });
  }
  if (!response.ok) throw new FanfoldError('restate', `registering ${serviceUrl} with ${adminUrl} failed (HTTP ${response.status}): ${await response.text()}`);
}
