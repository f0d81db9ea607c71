/** Local commands load the node's code only when they run, so client commands start fast. */
export const localNode = () => import("../main.js");
