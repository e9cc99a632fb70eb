#!/usr/bin/env bash
# FAME's Table 3 on Beauty, every model tuned the same way, three seeds: one script for one GPU machine.
#
#   bash bench/gpu_table3.sh [OUT]          # default OUT: bench/results/gpu_table3 (git-ignored, so it can be carried)
#
# Needs: the package's dependencies (torch with CUDA, optuna, scipy, pandas, ...) and the Beauty files: FAME_NB_DATA
# must name a folder holding amazon-beauty/Beauty.txt (default: shared/data of the checkout). Rerunning the script with
# the same OUT resumes everything (studies continue, interrupted runs resume from their checkpoints, finished runs are
# reused): on a fresh machine, carry OUT back in (it stays small: ~30 MB, mostly the SASRec weights FAME starts from).
#
# Phases (all processes on the one GPU, several at a time; the budgets below aim at ~8 minutes on 1 H200 + 16 cores):
#   1. fame-nb tune of every baseline in parallel (one process and one SQLite study per model, --timeout T1)
#   2. fame-nb tune of FAME's fine-tuning stage (W workers sharing one study) from the tuned SASRec,
#      while fame-nb compare trains the tuned baselines x seeds in parallel (--jobs J)
#   3. fame-nb compare of all models: reuses every finished run, trains FAME x seeds, writes the table
#   4. whatever happened before DEADLINE seconds: fame-nb compare --report-only writes the table of the finished runs
#      (seeds column and a "not finished" note say what is missing); rerun the script to finish the rest.
#   Beside them: one SASRec with --loss bce (the paper's weak SASRec row: same options as the README's Beauty SASRec,
#   --dropout 0.5, only the loss differs), and at the end the protocol-switch table (fame-nb evaluate --switches) of the
#   first seed's SASRec and FAME and of the BCE SASRec: protocols.md / protocols.csv.
# Written to OUT: tune/<dataset>/<model>/{best.json,trials.csv}, compare/{table.md,table.csv,table.png,compare.csv},
# compare/runs/** (config, history, metrics, per-user ranks; weights deleted unless KEEP_WEIGHTS=1, except the SASRec
# weights that FAME fine-tunes from), logs/*.log,
# env.txt (versions, GPU, commit), timing.txt. Rerunning the script resumes: studies continue, finished runs are reused.
#
# Budgets and choices are environment variables (defaults = the GPU run); the CPU end-to-end test uses e.g.
#   DATASET=synthetic DEVICE=cpu TRIALS=1 FAME_TRIALS=1 TUNE_EPOCHS=1 EPOCHS=1 SEEDS="1 2" bash bench/gpu_table3.sh /tmp/t3
set -euo pipefail

OUT=${1:-bench/results/gpu_table3}
DATASET=${DATASET:-beauty}
DEVICE=${DEVICE:-cuda}
MODELS=${MODELS:-"sasrec bert4rec cl4srec duorec iclrec gru4rec fmlprec mamba4rec"}   # those not registered are skipped
SEEDS=${SEEDS:-"42 43 44"}
TRIALS=${TRIALS:-40}            # per baseline study (a cap: --timeout usually ends it first)
T1=${T1:-120}                   # seconds of new trials for the baselines (phase 1; a running trial finishes)
FAME_TRIALS=${FAME_TRIALS:-40}  # FAME's study, shared by FAME_WORKERS processes
T2=${T2:-90}                    # seconds of new FAME trials (phase 2)
FAME_WORKERS=${FAME_WORKERS:-4}
TUNE_EPOCHS=${TUNE_EPOCHS:-30}  # max epochs of a trial (median pruning stops bad ones early)
TUNE_PATIENCE=${TUNE_PATIENCE:-5}
EPOCHS=${EPOCHS:-100}           # max epochs of a compare run (early stopping)
PATIENCE=${PATIENCE:-10}
JOBS=${JOBS:-12}                # compare runs in parallel
DEADLINE=${DEADLINE:-450}       # seconds after the start when training stops and the table of the finished runs is written
KEEP_WEIGHTS=${KEEP_WEIGHTS:-0}
EXTRA=${EXTRA:-}                # extra shared options for every run, e.g. "--loss bce" or "--keep-history"

REPO=$(cd "$(dirname "$0")/.." && pwd)
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
export FAME_NB_DATA=${FAME_NB_DATA:-$REPO/shared/data}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=${MKL_NUM_THREADS:-1} TOKENIZERS_PARALLELISM=false MPLBACKEND=Agg
PY=${PYTHON:-python}
fnb() { "$PY" -c 'import sys; from fame_nb.cli import main; main(sys.argv[1:])' "$@"; }

mkdir -p "$OUT/logs" "$OUT/tune"
OUT=$(cd "$OUT" && pwd)
start=$(date +%s)
stamp() { echo "$(( $(date +%s) - start )) s: $*" | tee -a "$OUT/timing.txt"; }

# the registered models among MODELS (the encoders of another notebook may not be there)
MODELS=$("$PY" -c "import sys; from fame_nb.train import MODELS; print(' '.join(m for m in sys.argv[1:] if m in MODELS))" $MODELS)
{ echo "commit: $(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo unknown)"; "$PY" -c "import torch, optuna, sys; print('python', sys.version.split()[0], '| torch', torch.__version__, '| optuna', optuna.__version__, '| cuda', torch.cuda.is_available() and torch.cuda.get_device_name(0))"
  echo "dataset $DATASET device $DEVICE models: $MODELS fame | seeds: $SEEDS | trials $TRIALS/$FAME_TRIALS T1 $T1 T2 $T2 tune epochs $TUNE_EPOCHS | extra: $EXTRA"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || true; } > "$OUT/env.txt"
cat "$OUT/env.txt"

fnb data --dataset "$DATASET" --quiet > "$OUT/logs/data.log" 2>&1     # prepare the processed cache once, before parallel readers
stamp "data ready"

common=(--dataset "$DATASET" --device "$DEVICE" $EXTRA)
# 1. every baseline's study in parallel
pids=()
for m in $MODELS; do
  fnb tune --model "$m" "${common[@]}" --trials "$TRIALS" --timeout "$T1" --epochs "$TUNE_EPOCHS" --patience "$TUNE_PATIENCE" \
      --out "$OUT/tune" --storage "sqlite:///$OUT/tune/optuna-$m.db" --quiet > "$OUT/logs/tune-$m.log" 2>&1 & pids+=($!)
done
fail=0; for p in "${pids[@]}"; do wait "$p" || fail=1; done
stamp "phase 1: baselines tuned (failures: $fail)"

# 2. FAME's fine-tuning study (from the tuned SASRec) and, meanwhile, the baselines' comparison runs
pids=()
for w in $(seq 1 "$FAME_WORKERS"); do
  fnb tune --model fame "${common[@]}" --trials "$FAME_TRIALS" --timeout "$T2" --epochs "$TUNE_EPOCHS" --patience "$TUNE_PATIENCE" \
      --out "$OUT/tune" --storage "sqlite:///$OUT/tune/optuna-fame.db" --quiet > "$OUT/logs/tune-fame-$w.log" 2>&1 & pids+=($!)
  sleep 2
done
left() { echo $(( DEADLINE - ($(date +%s) - start) > 10 ? DEADLINE - ($(date +%s) - start) : 10 )); }
cmp_args=(--datasets "$DATASET" --seeds $SEEDS --tuned "$OUT/tune" --out "$OUT/compare" --device "$DEVICE" --epochs "$EPOCHS"
          --patience "$PATIENCE" $EXTRA --quiet)
timeout -s INT "$(left)" "$PY" -c 'import sys; from fame_nb.cli import main; main(sys.argv[1:])' compare --models $MODELS \
    --jobs "$JOBS" "${cmp_args[@]}" > "$OUT/logs/compare-baselines.log" 2>&1 & cmp=$!
timeout -s INT "$(left)" "$PY" -c 'import sys; from fame_nb.cli import main; main(sys.argv[1:])' train --model sasrec --loss bce \
    --dropout 0.5 --dataset "$DATASET" --device "$DEVICE" --epochs "$EPOCHS" --out "$OUT/bce" --quiet > "$OUT/logs/bce.log" 2>&1 & bce=$!
for p in "${pids[@]}"; do wait "$p" || fail=1; done
stamp "phase 2: FAME tuned (failures: $fail)"
wait "$cmp" || fail=1
stamp "phase 2: baselines compared (failures: $fail)"

# 3. every model: finished runs reused, FAME trained (stopped at DEADLINE; a later rerun resumes)
timeout -s INT "$(left)" "$PY" -c 'import sys; from fame_nb.cli import main; main(sys.argv[1:])' compare --models $MODELS fame \
    --jobs "$JOBS" "${cmp_args[@]}" > "$OUT/logs/compare-all.log" 2>&1 || fail=1
stamp "phase 3: all models compared (failures: $fail)"

# 4. the table of what finished
fnb compare --models $MODELS fame "${cmp_args[@]}" --report-only 2>"$OUT/logs/compare.err" | tee "$OUT/logs/compare.log"
stamp "phase 4: table written"
wait "$bce" || true

# the protocol switches of the first seed's SASRec and FAME (and the BCE SASRec), before the weights go
s1=${SEEDS%% *}; key=$("$PY" -c "import sys; from fame_nb.tuning import dataset_key; print(dataset_key(sys.argv[1]))" "$DATASET")
runs=(); for m in SASRec:sasrec FAME:fame; do d="$OUT/compare/runs/$key/${m#*:}/seed$s1"; [ -f "$d/model.safetensors" ] && runs+=("${m%%:*}=$d"); done
b=$(ls -d "$OUT"/bce/*/ 2>/dev/null | head -1); [ -n "$b" ] && [ -f "$b/metrics.json" ] && runs+=("SASRec --loss bce=${b%/}")
[ ${#runs[@]} -gt 0 ] && fnb evaluate --switches --out "$OUT/protocols" --device "$DEVICE" "${runs[@]}" > "$OUT/logs/protocols.log" 2>&1 || fail=1
stamp "protocol switches measured"

# weights: keep the SASRecs FAME starts from (compare's sasrec runs, tune's pretrained cache); the rest only if asked
[ "$KEEP_WEIGHTS" = 1 ] || find "$OUT" -name '*.safetensors' -not -path '*/runs/*/sasrec/*' -not -path '*/pretrained/*' -delete
cp "$OUT/compare/table.md" "$OUT/TABLE3.md"
echo "done in $(( $(date +%s) - start )) s; table: $OUT/TABLE3.md (failures: $fail)"
exit $fail
