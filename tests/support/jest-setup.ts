import 'aws-sdk-client-mock-jest'
import { quietToolEnv } from '../../scripts/lib/tool-env'

// Test processes and the servers they start share the tools' quiet environment.
quietToolEnv()
