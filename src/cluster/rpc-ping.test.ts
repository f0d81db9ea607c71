import { describe, expect, it } from "vitest";
import {
  decodeDeviceCount,
  decodeHelloResponse,
  encodeHello,
  encodeRpcCommand,
  RpcResponseDecoder,
  rpcCommand,
} from "./rpc-ping.js";

const hex = (text: string) => Buffer.from(text.replaceAll(" ", ""), "hex");

describe("ggml-rpc framing", () => {
  // Bytes as ggml-rpc.cpp's send_rpc_cmd writes them on a little-endian machine:
  // | rpc_cmd (1 byte) | request_size (uint64) | request |.
  it.each([
    ["HELLO with 24 zero bytes of conn_caps", encodeHello(), `0e 1800000000000000 ${"00".repeat(24)}`],
    ["DEVICE_COUNT, no request", encodeRpcCommand(rpcCommand.deviceCount), "0f 0000000000000000"],
    ["GET_DEVICE_MEMORY for device 1", encodeRpcCommand(11, hex("01000000")), "0b 0400000000000000 01000000"],
  ])("encodes %s", (_, frame, bytes) => {
    expect(frame.toString("hex")).toBe(hex(bytes).toString("hex"));
  });

  // send_msg: | size (uint64) | rpc_msg_hello_rsp { major, minor, patch, padding, conn_caps[24] } |.
  const helloResponse = hex(`1c00000000000000 07 00 00 00 ${"00".repeat(24)}`);
  const deviceCountResponse = hex("0400000000000000 02000000");

  it.each([
    ["whole", [Buffer.concat([helloResponse, deviceCountResponse])]],
    [
      "byte by byte",
      [...Buffer.concat([helloResponse, deviceCountResponse])].map((byte) => Buffer.from([byte])),
    ],
    [
      "split inside the size",
      [helloResponse.subarray(0, 3), Buffer.concat([helloResponse.subarray(3), deviceCountResponse])],
    ],
  ])("decodes responses arriving %s", (_, chunks) => {
    const decoder = new RpcResponseDecoder();
    const frames = chunks.flatMap((chunk) => decoder.push(chunk));
    expect(frames).toHaveLength(2);
    expect(decodeHelloResponse(frames[0]!)).toEqual({ major: 7, minor: 0, patch: 0 });
    expect(decodeDeviceCount(frames[1]!)).toBe(2);
  });

  it.each([
    ["a HELLO response of the wrong size", () => decodeHelloResponse(Buffer.alloc(4)), /28 bytes, got 4/],
    ["a DEVICE_COUNT response of the wrong size", () => decodeDeviceCount(Buffer.alloc(8)), /4 bytes, got 8/],
    [
      "a size no small command answers with",
      () => new RpcResponseDecoder().push(hex("ffffffff00000000")),
      /4294967295-byte response/,
    ],
  ])("rejects %s", (_, decode, message) => {
    expect(decode).toThrow(message);
  });
});
