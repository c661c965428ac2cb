//! LLM providers for aistamp: OpenAI, Anthropic, generic JSON over HTTP and closures.
