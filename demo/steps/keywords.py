"""Step 1, keyword generation: a mock LLM turns the product's title into search keywords.

The mock answers like a small model would (comma-separated keywords) but deterministically: the
descriptive words of the title, without sizes ("32oz", "6mm") and filler words. The step records
the call with ``add_llm_metadata`` (model, tokens, temperature, prompt and response).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import xray_core

from ..data import Product

STEP_NAME = "keyword_generation"
MODEL = "mock-llm-1"
TEMPERATURE = 0.2
PROMPT = (
    "You find competitor products on a marketplace.\n"
    "Product title: {title}\n"
    "Category: {category}\n"
    "Answer with the search keywords only, comma-separated."
)

_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SIZE = re.compile(r"^\d+(?:oz|ml|l|mm|cm|in|pack|-pack)?$")
_FILLER = frozenset({"a", "an", "and", "for", "of", "the", "with", "new", "pro", "lite", "basic"})


def extract_keywords(title: str) -> list[str]:
    """The descriptive words of ``title``, lowercased, in order, without sizes and filler."""
    words = _WORD.findall(title.lower())
    kept = [w for w in words if not _SIZE.match(w) and w not in _FILLER]
    return list(dict.fromkeys(kept))


@dataclass(frozen=True)
class Completion:
    """A mock LLM answer and its token counts (one token per whitespace-separated word)."""

    text: str
    prompt_tokens: int
    completion_tokens: int

    @property
    def tokens_used(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens


class MockLLM:
    """A stand-in for an LLM client: reads the title from the prompt, answers with keywords."""

    def __init__(self, model: str = MODEL, temperature: float = TEMPERATURE) -> None:
        self.model = model
        self.temperature = temperature

    def complete(self, prompt: str) -> Completion:
        """Answer ``prompt`` (which must contain a ``Product title:`` line)."""
        match = re.search(r"^Product title:(.*)$", prompt, flags=re.MULTILINE)
        if match is None:
            raise ValueError("MockLLM prompt has no 'Product title:' line")
        text = ", ".join(extract_keywords(match.group(1)))
        return Completion(text, len(prompt.split()), len(text.split()))


def parse_keywords(response: str) -> list[str]:
    """The keywords of a comma-separated answer (blank entries dropped)."""
    return [word.strip() for word in response.split(",") if word.strip()]


def generate_keywords(product: Product, llm: MockLLM | None = None) -> list[str]:
    """Ask the (mock) LLM for keywords to search competitors of ``product``; recorded as a step."""
    llm = llm or MockLLM()
    step_input = {"product_id": product.asin, "title": product.title, "category": product.category}
    with xray_core.step(STEP_NAME, input=step_input) as step:
        prompt = PROMPT.format(title=product.title, category=product.category)
        completion = llm.complete(prompt)
        keywords = parse_keywords(completion.text)
        step.add_llm_metadata(
            model=llm.model,
            tokens_used=completion.tokens_used,
            temperature=llm.temperature,
            prompt=prompt,
            response=completion.text,
        )
        step.set_output({"keywords": keywords})
        dropped = [w for w in _WORD.findall(product.title.lower()) if w not in keywords]
        step.set_reasoning(
            f"Kept {len(keywords)} descriptive words of the title ({', '.join(keywords)})"
            + (f"; dropped sizes and filler words ({', '.join(dropped)})." if dropped else ".")
        )
        return keywords
