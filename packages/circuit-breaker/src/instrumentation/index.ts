import './requireInstrumentationPackage';

export { OpossumInstrumentation } from './OpossumInstrumentation';
export { CockatielInstrumentation } from './CockatielInstrumentation';
export type { CircuitBreakerInstrumentationConfig } from './BreakerInstrumentation';
