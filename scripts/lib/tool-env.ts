/**
 * The environment that quiets the AWS SDK and Serverless for the project's tools, in one place. The tools
 * run on Node 20 here while the functions run on nodejs22.x, so the SDK's Node-version notice is noise;
 * Serverless's telemetry and update notices need a network this machine does not have.
 */
export const QUIET_TOOL_ENV = {
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
} as const

/** Quiet this process (and what it spawns with its environment); explicit settings by the user win. */
export function quietToolEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const [k, v] of Object.entries(QUIET_TOOL_ENV)) env[k] ??= v
}
