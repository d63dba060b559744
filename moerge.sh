#!/usr/bin/env bash
# moerge.sh: set up, build, demo and test moerge on a Debian 12 machine.
#
#   ./moerge.sh demo    install what is missing, build (release), run the demo on the bundled data
#   ./moerge.sh test    install what is missing, build (dev), run the whole test suite
#   ./moerge.sh setup   only install the Debian packages moerge needs
#   ./moerge.sh build [PRESET]   only configure and build (PRESET: dev, release, portable, asan)
#
# Works as root or through sudo. Installing is skipped when every package is present.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$ROOT"

PACKAGES=(
  build-essential cmake pkg-config git
  libopenmpi-dev openmpi-bin
  libhdf5-openmpi-dev hdf5-tools
  libeigen3-dev libboost-program-options-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libyaml-cpp-dev nlohmann-json3-dev libssl-dev libxxhash-dev librandom123-dev
  libfmt-dev libspdlog-dev
  clang libclang-rt-14-dev
  gnuplot-nox
  slurm-wlm munge
  python3 python3-torch python3-numpy python3-h5py python3-yaml libopenblas0-pthread
  time
)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

setup() {
  local missing=()
  for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "all ${#PACKAGES[@]} Debian packages present"
    return
  fi
  say "installing ${#missing[@]} Debian packages: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {
  local preset=${1:-dev} target=${2:-all}
  say "configuring and building (preset $preset, target $target)"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" --target "$target"
}

# OpenMPI refuses root without these; harmless otherwise.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1

demo() {
  setup
  build release moerge_cli
  local bin="$ROOT/build/release/bin/moerge"
  local out="$ROOT/demo-out"
  rm -rf "$out" && mkdir -p "$out"
  local data="$ROOT/tests/data/tiny"
  say "moerge $("$bin" --version | cut -d' ' -f2): an expert library from the bundled test model and adapters"
  "$bin" library init "$out/lib" --base "$data/base"
  say "importing the two LoRA adapters and a bf16 full fine-tune on 2 MPI ranks"
  mpirun --oversubscribe -np 2 "$bin" library import "$out/lib" \
    "$data/adapters/lora_a" "$data/adapters/lora_b" "$data/full_bf16"
  "$bin" library list "$out/lib"
  say "verifying every checksum"
  "$bin" library verify "$out/lib"
  say "exporting lora_b back to a PEFT directory"
  "$bin" library export "$out/lib" lora_b "$out/lora_b_export"
  ls -l "$out/lora_b_export"
  say "merging the bf16 fine-tune and lora_b into the base with TIES on 2 MPI ranks"
  cat > "$out/ties.yml" <<RECIPE
merge_method: ties
base_model: $data/base
models:
  - model: $data/full_bf16
    parameters: {weight: 1.0, density: 0.5}
  - model: $data/adapters/lora_b
    parameters: {weight: 0.5, density: 0.3}
parameters: {lambda: 1.0}
dtype: float32
RECIPE
  mpirun --oversubscribe -np 2 "$bin" merge "$out/ties.yml" "$out/merged_ties"
  ls -l "$out/merged_ties"
  say "demo done: library in $out/lib"
}

run_tests() {
  setup
  build dev
  say "running the test suite (ctest)"
  ctest --preset dev -j2 "$@"
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  demo) demo ;;
  test) run_tests "$@" ;;
  setup) setup ;;
  build) setup; build "${1:-dev}" ;;
  *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
