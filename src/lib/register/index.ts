/**
 * The invalidation register (contract/register.ts): its DynamoDB reader for the HTTP functions and its writer
 * for the invalidation function. This index is the folder's only door.
 */
export {
  classifyRegisterError,
  createRegisterReader,
  createRegisterWriter,
  RegisterFailure,
} from './register-store'
export type { RegisterFailureKind, RegisterReader, RegisterWriter } from './register-store'
