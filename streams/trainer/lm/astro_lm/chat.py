"""The chat layout and the tokenizer trained on the traces.

The layout is the Llama-3 chat format that the pipeline's `openai` policy renders by default
(`streams/policies/openai/promptTemplate.ts`), so a model trained here can be served by
`llama-server` as the policy of the next search with no template change:

    <|begin_of_text|><|start_header_id|>user<|end_header_id|>\\n\\n{prompt}<|eot_id|>
    <|start_header_id|>assistant<|end_header_id|>\\n\\n{completion}<|eot_id|>

The tokenizer is a SentencePiece BPE model trained on the traces' own text: pieces may span words
(`split_by_whitespace=False`, pieces up to 64 characters), so the reflection sentences cost a few
tokens each; digits stay single tokens (arithmetic is learned digit by digit); `\\n` is an
atomic piece, so no token crosses a line break and a prompt that ends after a step (what the
search sends) is tokenized as its training prefix was. The prompt's fixed boilerplate (the text
every prompt shares, mined from the prompts by `mine_phrases`) becomes whole tokens, "phrases":
user-defined tokens that llama.cpp splits out of any text before tokenizing the rest, as it does
with special tokens. Together this takes the prompt of a 3-number Countdown trace from ~116
tokens to ~40, so the budget goes to the completions.

Why SentencePiece and not a `tokenizers` BPE: llama.cpp's SPM tokenizer is a port of
SentencePiece's BPE encoder (merge by piece score), and `convert_hf_to_gguf.py` takes a
`tokenizer.model` as it is, while a custom `tokenizers` BPE needs its pre-tokenizer hash
registered in llama.cpp before it converts. Each text fragment between special tokens is encoded
on its own with a leading `▁` (SentencePiece's dummy prefix), which is what llama.cpp does for
SPM vocabularies (`add_space_prefix` after every special or user-defined token), so training and
serving see the same ids.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

import sentencepiece as spm

BOS = "<|begin_of_text|>"
EOS_TEXT = "<|end_of_text|>"
START_HEADER = "<|start_header_id|>"
END_HEADER = "<|end_header_id|>"
EOT = "<|eot_id|>"
SPECIALS = [BOS, EOS_TEXT, START_HEADER, END_HEADER, EOT]
TOKENIZER_FILE = "tokenizer.model"

# The Jinja chat template llama-server applies for /v1/chat/completions (same layout as above).
CHAT_TEMPLATE = (
    "{{ '<|begin_of_text|>' }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] + '<|eot_id|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)


@dataclass(frozen=True)
class Encoded:
    """Token ids of one conversation and which of them carry loss (the assistant turn)."""

    ids: list[int]
    loss_mask: list[int]

    @property
    def prompt_tokens(self) -> int:
        return len(self.ids) - sum(self.loss_mask)


class ChatTokenizer:
    """SentencePiece model + the chat layout; `encode_chat` is what training, RL and evaluation use."""

    def __init__(self, model_proto: bytes, phrases: list[str]) -> None:
        self.model_proto = model_proto
        self.sp = spm.SentencePieceProcessor(model_proto=model_proto)
        self.special = {s: self.sp.piece_to_id(s) for s in SPECIALS}
        for s, i in self.special.items():
            if not self.sp.is_control(i):
                raise ValueError(f"tokenizer has no control piece {s}")
        # Longest first, as llama.cpp's partition of special and user-defined tokens goes.
        self.phrases = sorted(phrases, key=len, reverse=True)
        self.phrase_ids = {p: self._piece_id(p) for p in self.phrases}

    def _piece_id(self, phrase: str) -> int:
        for piece in (phrase, phrase.replace(" ", "\u2581")):
            i = self.sp.piece_to_id(piece)
            if i != self.sp.unk_id():
                return i
        raise ValueError(f"tokenizer has no piece for phrase {phrase!r}")

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    @property
    def eot_id(self) -> int:
        return self.special[EOT]

    @property
    def bos_id(self) -> int:
        return self.special[BOS]

    def text(self, text: str) -> list[int]:
        """Raw text as llama.cpp encodes it: phrases split out first, each remaining fragment with its dummy prefix."""
        parts: list[str | int] = [text]
        for phrase in self.phrases:
            split: list[str | int] = []
            for part in parts:
                if isinstance(part, int) or phrase not in part:
                    split.append(part)
                    continue
                pieces = part.split(phrase)
                for k, piece in enumerate(pieces):
                    if k:
                        split.append(self.phrase_ids[phrase])
                    if piece:
                        split.append(piece)
            parts = split
        ids: list[int] = []
        for part in parts:
            ids.extend([part] if isinstance(part, int) else self.sp.encode(part))
        return ids

    def header(self, role: str) -> list[int]:
        return [self.special[START_HEADER], *self.text(role), self.special[END_HEADER]]

    def prompt_ids(self, prompt: str) -> list[int]:
        """The ids of the rendered prompt up to and including the assistant header and its blank line."""
        return [self.bos_id, *self.header("user"), *self.text("\n\n" + prompt), self.eot_id, *self.header("assistant")]

    def encode_chat(self, prompt: str, completion: str) -> Encoded:
        """Prompt and completion in the chat layout; loss on the completion and its `<|eot_id|>`.

        The assistant fragment is `\\n\\n` + completion: its dummy-prefix `▁` and the two `\\n`
        pieces belong to the prompt (the template ends with them); `\\n` never merges, so the
        completion's first token starts exactly where generation starts.
        """
        head = self.prompt_ids(prompt)
        body = self.text("\n\n" + completion)
        lead = len(self.text("\n\n"))
        if body[:lead] != self.text("\n\n"):
            raise ValueError("tokenizer merges across the assistant turn's leading blank line")
        ids = head + body + [self.eot_id]
        mask = [0] * (len(head) + lead) + [1] * (len(body) - lead + 1)
        return Encoded(ids, mask)

    def generation_prefix(self, prompt: str) -> list[int]:
        """Ids a model continues from to answer `prompt` (the rendered prompt + `▁\\n\\n`)."""
        return self.prompt_ids(prompt) + self.text("\n\n")

    def decode(self, ids: Iterable[int]) -> str:
        """Text of generated ids (special tokens dropped; phrases as their text)."""
        by_id = {i: p for p, i in self.phrase_ids.items()}
        out, run = [], []
        for i in ids:
            if i in by_id:
                out.append(self.sp.decode(run))
                out.append(by_id[i])
                run = []
            elif not self.sp.is_control(i):
                run.append(i)
        out.append(self.sp.decode(run))
        return "".join(out)

    def save(self, directory: Path) -> None:
        """Writes `tokenizer.model` and the Hugging Face tokenizer files `convert_hf_to_gguf.py` reads."""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / TOKENIZER_FILE).write_bytes(self.model_proto)
        added = {str(i): {"content": s, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True} for s, i in self.special.items()}
        # Non-special added tokens become USER_DEFINED in the GGUF: llama.cpp splits them out of any text.
        added.update({str(i): {"content": p, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": False} for p, i in self.phrase_ids.items()})
        config = {
            "tokenizer_class": "LlamaTokenizer",
            "add_bos_token": False,  # the chat template starts with <|begin_of_text|> itself
            "add_eos_token": False,
            "add_prefix_space": True,
            "legacy": True,
            "bos_token": BOS,
            "eos_token": EOT,
            "pad_token": EOS_TEXT,
            "unk_token": self.sp.id_to_piece(self.sp.unk_id()),
            "added_tokens_decoder": added,
            "chat_template": CHAT_TEMPLATE,
            "model_max_length": 4096,
            "clean_up_tokenization_spaces": False,
            "astro_phrases": self.phrases,
        }
        (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=1))
        (directory / "special_tokens_map.json").write_text(json.dumps({"bos_token": BOS, "eos_token": EOT, "pad_token": EOS_TEXT}, indent=1))

    @classmethod
    def load(cls, directory: Path) -> ChatTokenizer:
        path = directory / TOKENIZER_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no tokenizer (train one with `python -m astro_lm tokenizer`)")
        config_path = directory / "tokenizer_config.json"
        phrases = json.loads(config_path.read_text()).get("astro_phrases", []) if config_path.is_file() else []
        return cls(path.read_bytes(), phrases)


def mine_phrases(prompts: list[str], completions: list[str], min_chars: int = 12, sample: int = 200) -> list[str]:
    """The text every prompt shares (maximal common runs of at least `min_chars`), not found in any completion.

    The alignment is against the first prompt; runs are cut so they never start or end inside a
    number, and phrases that occur in completions are left out (a phrase there would be generated
    as one token and decoded with the fragment prefix llama.cpp adds after it).
    """
    if len(prompts) < 2:
        return []
    base = prompts[0]
    common = [True] * len(base)
    for other in prompts[1:sample]:
        matched = [False] * len(base)
        for a, _, size in SequenceMatcher(None, base, other, autojunk=False).get_matching_blocks():
            matched[a : a + size] = [True] * size
        common = [c and m for c, m in zip(common, matched)]
    runs, start = [], None
    for i, c in enumerate([*common, False]):
        if c and start is None:
            start = i
        elif not c and start is not None:
            runs.append(base[start:i])
            start = None
    phrases = []
    for run in runs:
        run = run.strip("0123456789")
        if len(run) >= min_chars and not any(run in c for c in completions) and run not in phrases:
            phrases.append(run)
    return phrases


def train_tokenizer(texts: Iterable[str], vocab_size: int, phrases: list[str] | None = None) -> ChatTokenizer:
    """Trains the SentencePiece BPE model on `texts` (prompts and completions of the traces) with `phrases` as whole pieces."""
    phrases = phrases or []
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(list(texts)),
        model_writer=buf,
        model_type="bpe",
        vocab_size=vocab_size,
        character_coverage=1.0,
        byte_fallback=True,
        split_digits=True,
        split_by_whitespace=False,
        split_by_unicode_script=False,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=True,
        max_sentencepiece_length=64,
        max_sentence_length=1 << 20,
        user_defined_symbols=["\n", *phrases],
        control_symbols=SPECIALS,
        unk_id=0,
        bos_id=-1,
        eos_id=-1,
        pad_id=-1,
        minloglevel=2,
        num_threads=1,
    )
    return ChatTokenizer(buf.getvalue(), phrases)
