import { z } from "zod";

/** A model's name in the store, as clients write it in `model` fields (e.g. `stories260K`). */
export const ModelName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, "use letters, digits, '.', '_', ':' and '-' only")
  .brand<"ModelName">();
export type ModelName = z.infer<typeof ModelName>;

/** One running (or planned) engine for a model. */
export const InstanceId = z.string().min(1).max(64).brand<"InstanceId">();
export type InstanceId = z.infer<typeof InstanceId>;

/** A machine's persistent id. */
export const NodeId = z.string().min(1).max(64).brand<"NodeId">();
export type NodeId = z.infer<typeof NodeId>;
