/** The in-memory CallStore against the suite every CallStore passes (conformance/call-store.ts). */
import { callStoreConformance } from './conformance/call-store.js';
import { MemoryCallStore } from './memory.js';

callStoreConformance('memory', async () => ({ store: new MemoryCallStore() }));
