"""Drives the Python clients people use against one herd node and prints one JSON line per check.

Usage: check_clients.py BASE_URL MODEL TOOLS_MODEL

Each check is what a user of that client does first, changed in nothing but the base URL; a check
that raises is reported with its error, so one failing client does not hide the others.
"""

import asyncio
import importlib.metadata
import json
import sys
import traceback
from typing import Literal

BASE, MODEL, TOOLS_MODEL = sys.argv[1], sys.argv[2], sys.argv[3]
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}


def check(client, package, what):
    def decorate(function):
        try:
            detail = function()
            result = {"ok": True, "detail": detail}
        except Exception as error:  # noqa: BLE001 - every failure is the finding to report
            result = {"ok": False, "detail": f"{type(error).__name__}: {error}"[:500], "trace": traceback.format_exc()[-1500:]}
        version = importlib.metadata.version(package)
        print(json.dumps({"client": client, "version": version, "check": what, **result}), flush=True)
        return function

    return decorate


@check("openai (Python)", "openai", "chat completion, streamed and not")
def _():
    from openai import OpenAI

    client = OpenAI(base_url=f"{BASE}/v1", api_key="unused", max_retries=0)
    whole = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Once upon a time"}], max_tokens=12, temperature=0)
    text = "".join(
        chunk.choices[0].delta.content or ""
        for chunk in client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Once upon a time"}], max_tokens=12, temperature=0, stream=True)
        if chunk.choices
    )
    assert text == whole.choices[0].message.content, (text, whole.choices[0].message.content)
    return f"{whole.usage.completion_tokens} tokens"


@check("openai (Python)", "openai", "Responses API: the SDK's stream helper to its final response, and a reply cut by max_output_tokens")
def _():
    from openai import OpenAI

    client = OpenAI(base_url=f"{BASE}/v1", api_key="unused", max_retries=0)
    # A schema's grammar lets stories260K finish; the helper reads a completed response to its end.
    answer = {"type": "json_schema", "name": "answer", "strict": True, "schema": ANSWER_SCHEMA}
    with client.responses.stream(model=MODEL, input="Once upon a time", text={"format": answer}, temperature=0) as stream:
        final = stream.get_final_response()
    assert final.status == "completed" and isinstance(json.loads(final.output_text)["ok"], bool), final
    cut = client.responses.create(model=MODEL, input="Once upon a time", max_output_tokens=8, temperature=0)
    assert cut.status == "incomplete" and cut.incomplete_details.reason == "max_output_tokens", cut
    assert cut.output_text, cut
    return f"stream {final.status}; cut reply {cut.status} after {cut.usage.output_tokens} tokens"


@check("anthropic (Python)", "anthropic", "message streamed: input tokens in message_start, stop sequence")
def _():
    from anthropic import Anthropic

    client = Anthropic(base_url=BASE, api_key="unused", max_retries=0)
    # Greedy, so that the reply is the same each run and reaches its first "." within max_tokens.
    with client.messages.stream(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Once upon a time"}], stop_sequences=["."], extra_body={"temperature": 0}) as stream:
        start = None
        for event in stream:
            if event.type == "message_start":
                start = event.message.usage.input_tokens
        final = stream.get_final_message()
    assert start and start == final.usage.input_tokens, (start, final.usage)
    assert final.stop_reason == "stop_sequence" and final.stop_sequence == ".", final
    models = client.models.list()
    assert models.data and models.data[0].type == "model", models
    return f"input_tokens {start}, stop_sequence {final.stop_sequence!r}"


@check("ollama (Python)", "ollama", "generate (raw completion of a base model) and chat")
def _():
    from ollama import Client

    client = Client(host=BASE)
    generated = client.generate(model=MODEL, prompt="Once upon a time", options={"temperature": 0, "num_predict": 12})
    chatted = client.chat(model=MODEL, messages=[{"role": "user", "content": "Once upon a time"}], options={"temperature": 0, "num_predict": 12})
    assert generated.response and chatted.message.content
    return f"generate {generated.eval_count} tokens, chat {chatted.eval_count} tokens"


@check("LangChain ChatOpenAI", "langchain-openai", "invoke, stream, and the Responses API")
def _():
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(model=MODEL, base_url=f"{BASE}/v1", api_key="unused", temperature=0, max_tokens=12, max_retries=0)
    reply = chat.invoke("Once upon a time")
    streamed = "".join(chunk.content for chunk in chat.stream("Once upon a time"))
    assert reply.content and streamed == reply.content, (reply.content, streamed)
    responses = ChatOpenAI(model=MODEL, base_url=f"{BASE}/v1", api_key="unused", temperature=0, max_tokens=12, max_retries=0, use_responses_api=True)
    answered = responses.invoke("Once upon a time")
    assert answered.text, answered
    return f"{reply.usage_metadata['output_tokens']} tokens"


@check("LangChain ChatAnthropic", "langchain-anthropic", "stream with usage")
def _():
    from langchain_anthropic import ChatAnthropic

    chat = ChatAnthropic(model=MODEL, base_url=BASE, api_key="unused", temperature=0, max_tokens=12, max_retries=0)
    total = None
    for chunk in chat.stream("Once upon a time"):
        total = chunk if total is None else total + chunk
    assert total.usage_metadata["input_tokens"] > 0, total.usage_metadata
    return f"usage {total.usage_metadata}"


@check("LangChain ChatOllama", "langchain-ollama", "invoke")
def _():
    from langchain_ollama import ChatOllama

    reply = ChatOllama(model=MODEL, base_url=BASE, temperature=0, num_predict=12).invoke("Once upon a time")
    assert reply.content
    return f"{len(reply.content)} characters"


@check("LiteLLM", "litellm", "completion through its openai/, anthropic/ and ollama/ providers")
def _():
    import litellm

    messages = [{"role": "user", "content": "Once upon a time"}]
    answers = [
        litellm.completion(model=f"openai/{MODEL}", api_base=f"{BASE}/v1", api_key="unused", messages=messages, max_tokens=12, temperature=0),
        litellm.completion(model=f"anthropic/{MODEL}", api_base=BASE, api_key="unused", messages=messages, max_tokens=12, temperature=0),
        litellm.completion(model=f"ollama/{MODEL}", api_base=BASE, messages=messages, max_tokens=12, temperature=0),
    ]
    for answer in answers:
        assert answer.choices[0].message.content, answer
    return ", ".join(str(answer.usage.completion_tokens) for answer in answers) + " tokens"


@check("OpenAI Agents SDK (Python)", "openai-agents", "an agent run with a function tool")
def _():
    from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled
    from openai import AsyncOpenAI
    from pydantic import BaseModel

    # The tools model fills in arguments by grammar alone: a closed set of cities is one it finishes.

    class Answer(BaseModel):
        ok: bool

    set_tracing_disabled(True)
    calls = []

    @function_tool
    def get_weather(city: Literal["Paris", "Rome"]) -> str:
        """The weather in a city."""
        calls.append(city)
        return f"sunny in {city}"

    async def both():
        client = AsyncOpenAI(base_url=f"{BASE}/v1", api_key="unused", max_retries=0)
        # Structured output: its grammar lets stories260K end its answer.
        plain = Agent(name="teller", instructions="Answer.", output_type=Answer, model=OpenAIResponsesModel(model=MODEL, openai_client=client))
        result = await Runner.run(plain, "Once upon a time", max_turns=1)
        with_tool = Agent(name="weather", tools=[get_weather], model=OpenAIResponsesModel(model=TOOLS_MODEL, openai_client=client))
        try:
            await Runner.run(with_tool, "What is the weather in Paris?", max_turns=2)
        except Exception as error:  # noqa: BLE001 - the tool model calls tools forever: max_turns ends it
            if type(error).__name__ != "MaxTurnsExceeded":
                raise
        return result

    result = asyncio.run(both())
    assert isinstance(result.final_output, Answer), result
    assert calls, "the tool was never called"
    return f"final output {result.final_output!r}; tool called with {calls[0]}"
