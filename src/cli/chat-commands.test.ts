import { describe, expect, it } from "vitest";
import { type ChatSettings, chatHelp, interpretChatLine } from "./chat-commands.js";

const settings: ChatSettings = { verbose: false };

describe("interpretChatLine", () => {
  it.each([
    ["Once upon a time", { type: "send", text: "Once upon a time" }],
    ["   ", { type: "nothing" }],
    ["/bye", { type: "exit" }],
    ["/clear", { type: "clear", message: "Cleared the conversation." }],
    [
      "/set temperature 0.2",
      {
        type: "settings",
        settings: { verbose: false, temperature: 0.2 },
        message: "Set temperature to 0.2.",
      },
    ],
    [
      "/set temperature hot",
      { type: "help", message: "The temperature is a number from 0 to 2, e.g. /set temperature 0.2" },
    ],
    [
      "/set temperature 3",
      { type: "help", message: "The temperature is a number from 0 to 2, e.g. /set temperature 0.2" },
    ],
    [
      "/set max-tokens 64",
      { type: "settings", settings: { verbose: false, maxTokens: 64 }, message: "Set max-tokens to 64." },
    ],
    [
      "/set max-tokens 1.5",
      { type: "help", message: "max-tokens is a positive whole number, e.g. /set max-tokens 256" },
    ],
    [
      "/set system You are terse.",
      {
        type: "settings",
        settings: { verbose: false, system: "You are terse." },
        message: "Set the system prompt.",
      },
    ],
    ["/set verbose", { type: "settings", settings: { verbose: true }, message: "Set verbose mode." }],
    ["/help", { type: "help", message: chatHelp }],
    ["/sett temperature 1", { type: "help", message: `Unknown command '/sett'.\n${chatHelp}` }],
    ["/set colour red", { type: "help", message: `Unknown setting 'colour'.\n${chatHelp}` }],
  ])("%s", (line, action) => {
    expect(interpretChatLine(line, settings)).toEqual(action);
  });

  it("clears the system prompt with an empty /set system", () => {
    expect(interpretChatLine("/set system", { verbose: true, system: "x" })).toEqual({
      type: "settings",
      settings: { verbose: true, system: undefined },
      message: "Cleared the system prompt.",
    });
  });
});
