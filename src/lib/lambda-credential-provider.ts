import { fromEnv } from '@aws-sdk/credential-provider-env'

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the function bundles (an esbuild alias in
 * esbuild.config.ts). Lambda always hands a function its role's credentials in environment variables, so the
 * full chain (profiles, SSO, web identity, process, IMDS, with the nested STS/SSO clients: ~90 KB) is never
 * used there; the local stack sets the same variables. Tools and the consumer client keep the full chain.
 */
export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]): ReturnType<typeof fromEnv> =>
  fromEnv(init)
export const credentialsWillNeedRefresh = (): boolean => false
export const credentialsTreatedAsExpired = (): boolean => false
