/**
 * The rotation strategies a stage may declare (`secrets.<name>.rotation.strategy` in serverless.yml): the
 * names shared by the stage schema, the runtime catalog (shown by GET /secrets/{name}/rotation) and the
 * rotation function's strategy registry.
 */
export const ROTATION_STRATEGIES = ['random', 'postgres-single-user', 'postgres-alternating-users'] as const
export type RotationStrategyKind = (typeof ROTATION_STRATEGIES)[number]
