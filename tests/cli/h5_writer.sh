# h5_writer.sh - sourced by tests/cli/test_h5_*.sh (not a test itself: no test_ prefix).
# Runs the writer mode of the test_h5store binary (tests/mpi/test_h5store.c,
# writer_main) under mpirun, in a scratch directory removed on exit.

h5w_bin="${NS_BUILD_DIR:?NS_BUILD_DIR not set: run through ctest}/test_h5store"
if [ ! -x "$h5w_bin" ]; then
    echo "FAIL: writer binary $h5w_bin not built" >&2
    exit 1
fi
h5w_mpirun=$(command -v mpirun || command -v mpiexec) || { echo "SKIP: no mpirun on PATH"; exit 77; }
h5w_py=/usr/bin/python3   # Debian's h5py/xarray live there (platform.md)

h5w_tmp=$(mktemp -d "${TMPDIR:-/tmp}/ns_h5cli_XXXXXX")
h5w_cleanup() {
    [ -n "${h5w_mp:-}" ] && kill -0 "$h5w_mp" 2>/dev/null && kill -9 "$h5w_mp" 2>/dev/null
    rm -rf "$h5w_tmp"
}
trap h5w_cleanup EXIT
# A killed mpirun can leave its session directory behind: keep it in our scratch.
mkdir -p "$h5w_tmp/mpitmp"

# h5w_start FILE NRANKS DELAY_MS: start the writer in the background (pid in h5w_mp).
h5w_start() {
    TMPDIR="$h5w_tmp/mpitmp" NS_H5STORE_WRITER="$1" NS_H5STORE_DELAY_MS="$3" \
        "$h5w_mpirun" -n "$2" "$h5w_bin" >"$h5w_tmp/mpirun.log" 2>&1 &
    h5w_mp=$!
}

# h5w_wait_exit SECONDS: wait for mpirun to end; kill it (by pid) if it does not.
# Sets h5w_rc to its exit status (not a $(...) call: wait needs this shell).
h5w_wait_exit() {
    local i
    for ((i = 0; i < $1 * 10; i++)); do
        kill -0 "$h5w_mp" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$h5w_mp" 2>/dev/null && kill -9 "$h5w_mp"
    wait "$h5w_mp"
    h5w_rc=$?
}

# h5w_rows_done FILE RANK: rows that rank reported complete.
h5w_rows_done() { [ -f "$1.rank$2.done" ] && wc -l <"$1.rank$2.done" || echo 0; }
