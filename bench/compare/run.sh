#!/usr/bin/env bash
# Side-by-side CPU speed comparison: FastRnn vs PyTorch (1 thread), shape by shape. Usage: bench/compare/run.sh [--shape N] [--quick]
# PyTorch is only a measuring tool here, never a dependency of FastRnn or its tests.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python=/usr/bin/python3.11

shape=-1
pass=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --shape) shape="$2"; shift 2 ;;
        --quick) pass+=(--quick); shift ;;
        *) echo "usage: $0 [--shape N] [--quick]" >&2; exit 2 ;;
    esac
done

export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

if ! "$python" -c 'import torch' 2>/dev/null; then
    echo "Installing PyTorch (python3-torch, libopenblas0-pthread) from Debian..." >&2
    sudo=""; [[ "$(id -u)" -ne 0 ]] && sudo="sudo"
    $sudo apt-get install -y python3-torch libopenblas0-pthread >&2
fi

echo "Build FastRnn.Bench (Release)..." >&2
dotnet build -c Release "$repo/bench/FastRnn.Bench" -nologo -v q >&2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ours="$work/fastrnn.tsv"
theirs="$work/pytorch.tsv"
: >"$ours"; : >"$theirs"

if [[ "$shape" -ge 0 ]]; then shapes=("$shape"); else shapes=(0 1 2 3 4 5); fi
for n in "${shapes[@]}"; do
    echo "Shape $n: FastRnn..." >&2
    # From the header line on (skips build noise); combine.py skips the repeated headers.
    dotnet run -c Release --no-build --project "$repo/bench/FastRnn.Bench" -- targets --tsv --shape "$n" "${pass[@]}" \
        | sed -n '/^T\tB\tI\tH\tcell\tfwd_ms\tstep_ms$/,$p' >>"$ours"
    echo "Shape $n: PyTorch..." >&2
    "$python" "$here/pytorch_rnn.py" --shape "$n" "${pass[@]}" >>"$theirs"
done

echo "FastRnn vs PyTorch $("$python" -c 'import torch; print(torch.__version__)') on CPU, float32, 1 layer, unidirectional, time-major"
echo "Threads: torch.set_num_threads(1), OMP_NUM_THREADS=$OMP_NUM_THREADS OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS MKL_NUM_THREADS=$MKL_NUM_THREADS; FastRnn 1 thread"
echo "CPU: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1), nproc=$(nproc --all)"
echo "Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "Statistic: median of repeated runs after warm-up; step = forward + backward incl. dX"
echo
python3 "$here/combine.py" "$ours" "$theirs"
