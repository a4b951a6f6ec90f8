"""The built-in `chat` suite: any instruction / chat JSONL (OpenAI, ShareGPT, Alpaca) as a domain."""
