// The reference store must pass the store suite itself: it is the expected side elsewhere.
import { createReferenceStore, describeMemoryStore } from "../src/index.js";

describeMemoryStore("reference (brute force)", createReferenceStore, { persistence: false });
