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
  local zoo="$ROOT/data/zoo"
  local mpi=(mpirun --oversubscribe -np 2)
  rm -rf "$out" && mkdir -p "$out"
  say "moerge $("$bin" --version | cut -d' ' -f2) on the bundled expert zoo (data/zoo/README.md): a byte-level Llama base,"
  say "14 domain LoRA experts and 8 full fine-tunes trained on Debian's own text"

  say "1. an HDF5 expert library: the base, 3 LoRA experts and 3 full fine-tunes, imported on 2 MPI ranks"
  "$bin" library init "$out/lib" --base "$zoo/base"
  "${mpi[@]}" "$bin" library import "$out/lib" "$zoo/experts/lora/cmake" "$zoo/experts/lora/licences" "$zoo/experts/lora/perl"
  for domain in cmake licences perl; do
    "$bin" library import "$out/lib" "$zoo/experts/full/$domain" --name "full_$domain" --tag "domain=$domain"
  done
  "$bin" library list "$out/lib"
  "$bin" library verify "$out/lib"

  say "2. merging the three full fine-tunes on 2 MPI ranks (mergekit recipes): a model soup and TIES"
  cat > "$out/soup.yml" <<RECIPE
merge_method: linear
models:
  - {model: $zoo/experts/full/cmake, parameters: {weight: 1.0}}
  - {model: $zoo/experts/full/licences, parameters: {weight: 1.0}}
  - {model: $zoo/experts/full/perl, parameters: {weight: 1.0}}
dtype: float32
RECIPE
  cat > "$out/ties.yml" <<RECIPE
merge_method: ties
base_model: $zoo/base
models:
  - {model: $zoo/experts/full/cmake, parameters: {weight: 1.0, density: 0.5}}
  - {model: $zoo/experts/full/licences, parameters: {weight: 1.0, density: 0.5}}
  - {model: $zoo/experts/full/perl, parameters: {weight: 1.0, density: 0.5}}
dtype: float32
RECIPE
  "${mpi[@]}" "$bin" merge "$out/soup.yml" "$out/merged_soup"
  "${mpi[@]}" "$bin" merge "$out/ties.yml" "$out/merged_ties"

  say "3. bits per byte on the three domains' test texts (lower is better): base, the merges, one expert"
  local domains=(--domain "cmake=$zoo/eval/cmake/test" --domain "licences=$zoo/eval/licences/test"
                 --domain "perl=$zoo/eval/perl/test")
  "${mpi[@]}" "$bin" eval --model "$zoo/base" "${domains[@]}" --system-name base --output "$out/eval_base.csv"
  "${mpi[@]}" "$bin" eval --model "$out/merged_soup" "${domains[@]}" --system-name soup --output "$out/eval_soup.csv"
  "${mpi[@]}" "$bin" eval --model "$out/merged_ties" "${domains[@]}" --system-name ties --output "$out/eval_ties.csv"
  "${mpi[@]}" "$bin" eval --model "$zoo/base" --expert "$zoo/experts/full/cmake" "${domains[@]}" \
    --output "$out/eval_full_cmake.csv"

  say "4. routing among the library's 3 LoRA experts, expert-parallel on 3 MPI ranks: rank 0 runs the base and"
  say "   the router, ranks 1-2 host the experts (docs/serving.md); the oracle picks each domain's own expert"
  local experts=(--expert "$out/lib/:experts/cmake" --expert "$out/lib/:experts/licences"
                 --expert "$out/lib/:experts/perl")
  mpirun --oversubscribe -np 3 "$bin" eval --model "$out/lib/:base" "${experts[@]}" --router arrow --top-k 2 \
    "${domains[@]}" --output "$out/eval_arrow.csv"
  mpirun --oversubscribe -np 3 "$bin" eval --model "$out/lib/:base" "${experts[@]}" --router oracle \
    "${domains[@]}" --quiet --output "$out/eval_oracle.csv"
  cat "$out/eval_oracle.csv"

  say "5. generating with the base and with the cmake LoRA expert applied unmerged (greedy)"
  "$bin" generate --model "$zoo/base" --prompt "cmake_minimum_required(VERSION" --max-new-tokens 60
  "$bin" generate --model "$zoo/base" --expert "$zoo/experts/lora/cmake" --prompt "cmake_minimum_required(VERSION" \
    --max-new-tokens 60
  say "demo done: library in $out/lib, merges in $out/merged_{soup,ties}, figures in $out/eval_*.csv"
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
