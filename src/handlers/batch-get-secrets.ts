export const handler = async (): Promise<unknown> => { throw new Error('not yet') }
