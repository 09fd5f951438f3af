"""GGUF export for llama.cpp's `llama-server`, through llama.cpp's own `convert_hf_to_gguf.py`.

The converter and its `gguf-py` come from the llama.cpp source inside the `llama-cpp-python`
sdist, cached (shared with the llama-server build of the `openai` policy engine) under
`${XDG_CACHE_HOME:-~/.cache}/astro-stream/llama.cpp/<version>/src/`. When that is missing the
sdist is fetched with pip and unpacked there atomically; an existing tree is never replaced.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from .errors import AstroLmError, bad_input

LLAMA_CPP_PYTHON_VERSION = "0.3.36"


def llama_cpp_dir(version: str = LLAMA_CPP_PYTHON_VERSION) -> Path:
    """`<cache>/astro-stream/llama.cpp/<version>` (`ASTRO_LLAMA_CPP_DIR` overrides it)."""
    override = os.environ.get("ASTRO_LLAMA_CPP_DIR")
    if override:
        return Path(override)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "astro-stream" / "llama.cpp" / version


def llama_server_binary(version: str = LLAMA_CPP_PYTHON_VERSION) -> Path | None:
    """The cached `llama-server` built from the same source, when one exists (`ASTRO_LLAMA_SERVER` overrides)."""
    override = os.environ.get("ASTRO_LLAMA_SERVER")
    candidates = [Path(override)] if override else [llama_cpp_dir(version) / "bin" / "llama-server", llama_cpp_dir(version) / "build" / "bin" / "llama-server"]
    return next((c for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)


def ensure_converter(version: str = LLAMA_CPP_PYTHON_VERSION) -> Path:
    """Path of `convert_hf_to_gguf.py`, fetching and unpacking the sdist's llama.cpp tree when absent."""
    src = llama_cpp_dir(version) / "src"
    script = src / "convert_hf_to_gguf.py"
    if script.is_file():
        return script
    src.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=src.parent, prefix=".fetch-") as tmp:
        print(f"[export] fetching llama-cpp-python=={version} sdist for convert_hf_to_gguf.py", file=sys.stderr)
        fetched = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps", f"llama-cpp-python=={version}", "-d", tmp], capture_output=True, text=True)
        archives = list(Path(tmp).glob("llama_cpp_python-*.tar.gz"))
        if fetched.returncode != 0 or not archives:
            raise AstroLmError("tool", f"cannot fetch the llama-cpp-python {version} sdist: {fetched.stderr.strip()[-400:]}", retriable=True)
        staged = Path(tmp) / "tree"
        prefix = f"llama_cpp_python-{version}/vendor/llama.cpp/"
        with tarfile.open(archives[0]) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(prefix) and len(m.name) > len(prefix)]
            for m in members:
                m.name = m.name[len(prefix) :]
            tar.extractall(staged, members=members, filter="data")
        if not (staged / "convert_hf_to_gguf.py").is_file():
            raise AstroLmError("tool", f"the llama-cpp-python {version} sdist has no vendor/llama.cpp/convert_hf_to_gguf.py")
        try:
            staged.rename(src)
        except OSError:
            # Another process unpacked it first: keep theirs.
            if not script.is_file():
                raise
    return script


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def export_gguf(model_dir: Path, out: Path, outtype: str = "f32") -> Path:
    """Converts a model directory to GGUF at `out` (written to a temp name, then renamed)."""
    if not (model_dir / "config.json").is_file() or not (model_dir / "tokenizer.model").is_file():
        raise bad_input(f"{model_dir}: not a model directory (needs config.json and tokenizer.model)")
    script = ensure_converter()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    run = subprocess.run([sys.executable, str(script), str(model_dir), "--outfile", str(tmp), "--outtype", outtype], capture_output=True, text=True)
    if run.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise AstroLmError("tool", f"convert_hf_to_gguf.py failed on {model_dir}: {run.stderr.strip()[-800:]}")
    tmp.replace(out)
    return out


def export_content_addressed(model_dir: Path, policies_dir: Path, outtype: str = "f32") -> tuple[Path, str]:
    """Exports to `policies_dir/<sha256>.gguf` (the name is the content's hash, as the ONNX versions are)."""
    staged = export_gguf(model_dir, policies_dir / ".export.gguf", outtype)
    digest = sha256_file(staged)
    final = policies_dir / f"{digest}.gguf"
    if final.exists():
        staged.unlink()
    else:
        staged.replace(final)
    return final, digest


def read_gguf_summary(path: Path) -> dict:
    """What the `gguf` package's reader finds in a GGUF file: architecture, vocabulary, tensors."""
    from gguf import GGUFReader

    reader = GGUFReader(str(path))

    def field(name: str) -> object:
        f = reader.fields.get(name)
        return None if f is None else f.contents()

    return {
        "architecture": field("general.architecture"),
        "tokenizer_model": field("tokenizer.ggml.model"),
        "vocab_size": len(field("tokenizer.ggml.tokens") or []),
        "context_length": field("llama.context_length"),
        "embedding_length": field("llama.embedding_length"),
        "block_count": field("llama.block_count"),
        "eos_token_id": field("tokenizer.ggml.eos_token_id"),
        "bos_token_id": field("tokenizer.ggml.bos_token_id"),
        "add_bos_token": field("tokenizer.ggml.add_bos_token"),
        "chat_template": field("tokenizer.chat_template"),
        "tensors": {t.name: [int(d) for d in t.shape] for t in reader.tensors},
    }

